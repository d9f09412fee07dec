//! The access-key registry on SQLite.

use rusqlite::{params, OptionalExtension, Row};

use super::{from_micros, is_unique_violation, to_micros, unavailable, SqliteStore};
use crate::access_keys::{created_event, status_event};
use crate::{
    access_key_not_found, transition, AccessKeyChange, AccessKeyEntity, AccessKeyListQuery, AccessKeyPage,
    AccessKeyRecord, AccessKeyStatus, AccessKeyStore, AuditContext, StatusTransition, StoreError,
    StoreResult,
};

const COLUMNS: &str = "jti, name, description, owner, subject, entity_type, issuer, audiences, \
                       issued_at, expires_at, status, updated_at";

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("{what} `{value}`"), rusqlite::types::Type::Text)
}

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<AccessKeyRecord> {
    let entity: String = row.get(5)?;
    let audiences: String = row.get(7)?;
    let status: String = row.get(10)?;
    Ok(AccessKeyRecord {
        jti: row.get(0)?,
        name: row.get(1)?,
        description: row.get(2)?,
        owner: row.get(3)?,
        subject: row.get(4)?,
        entity_type: AccessKeyEntity::parse(&entity).ok_or_else(|| corrupt("entity_type", &entity))?,
        issuer: row.get(6)?,
        audiences: serde_json::from_str(&audiences).map_err(|_| corrupt("audiences", &audiences))?,
        issued_at: from_micros(row.get(8)?),
        expires_at: row.get::<_, Option<i64>>(9)?.map(from_micros),
        status: AccessKeyStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        updated_at: from_micros(row.get(11)?),
    })
}

impl AccessKeyStore for SqliteStore {
    fn create_access_key(&self, record: &AccessKeyRecord, audit: &AuditContext) -> StoreResult<()> {
        let audiences = serde_json::to_string(&record.audiences)
            .map_err(|e| StoreError::Unavailable(format!("encoding audiences: {e}")))?;
        self.write(|tx| {
            tx.execute(
                &format!("INSERT INTO access_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    record.jti,
                    record.name,
                    record.description,
                    record.owner,
                    record.subject,
                    record.entity_type.as_str(),
                    record.issuer,
                    audiences,
                    to_micros(record.issued_at),
                    record.expires_at.map(to_micros),
                    record.status.as_str(),
                    to_micros(record.updated_at),
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("Scoped Access Key {} already exists", record.jti))
                } else {
                    unavailable(e)
                }
            })?;
            super::audit::record(tx, &created_event(record, audit))
        })
    }

    fn get_access_key(&self, jti: &str) -> StoreResult<AccessKeyRecord> {
        self.read(|c| {
            c.query_row(&format!("SELECT {COLUMNS} FROM access_keys WHERE jti = ?1"), [jti], record_from_row)
                .optional()
        })?
        .ok_or_else(|| access_key_not_found(jti))
    }

    fn list_access_keys(&self, query: &AccessKeyListQuery) -> StoreResult<AccessKeyPage> {
        let limit = i64::try_from(query.page_size.saturating_add(1)).unwrap_or(i64::MAX);
        let offset =
            i64::try_from(query.page.saturating_sub(1).saturating_mul(query.page_size)).unwrap_or(i64::MAX);
        let mut keys = self.read(|c| {
            c.prepare(&format!(
                "SELECT {COLUMNS} FROM access_keys \
                 WHERE (owner = ?1 AND entity_type = 'USER') OR (?2 AND entity_type = 'SERVICE_ACCOUNT') \
                 ORDER BY issued_at DESC, jti LIMIT ?3 OFFSET ?4"
            ))?
            .query_map(params![query.owner, query.include_service_accounts, limit, offset], record_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let has_more = keys.len() as u64 > query.page_size;
        keys.truncate(usize::try_from(query.page_size).unwrap_or(usize::MAX));
        Ok(AccessKeyPage { keys, has_more })
    }

    fn change_access_key_status(
        &self,
        jti: &str,
        target: AccessKeyStatus,
        audit: &AuditContext,
    ) -> StoreResult<AccessKeyChange> {
        let at = audit.at;
        self.write(|tx| {
            let mut record = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM access_keys WHERE jti = ?1"),
                    [jti],
                    record_from_row,
                )
                .optional()
                .map_err(unavailable)?
                .ok_or_else(|| access_key_not_found(jti))?;
            let before = record.clone();
            match transition(&record, target, at)? {
                StatusTransition::Unchanged => Ok(AccessKeyChange { record, changed: false }),
                StatusTransition::Write(status) => {
                    tx.execute(
                        "UPDATE access_keys SET status = ?1, updated_at = ?2 WHERE jti = ?3",
                        params![status.as_str(), to_micros(at), jti],
                    )
                    .map_err(unavailable)?;
                    record.status = status;
                    record.updated_at = at;
                    super::audit::record(tx, &status_event(&before, &record, audit))?;
                    Ok(AccessKeyChange { record, changed: true })
                }
            }
        })
    }

    fn all_access_keys(&self) -> StoreResult<Vec<AccessKeyRecord>> {
        self.read(|c| {
            c.prepare(&format!("SELECT {COLUMNS} FROM access_keys"))?
                .query_map([], record_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
    }
}

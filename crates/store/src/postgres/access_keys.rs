//! The access-key registry on PostgreSQL. Every write takes an access revision, so the other
//! replicas reload their in-memory registry as they reload role bindings.

use postgres::Row;

use super::{is_unique_violation, unavailable, PostgresStore};
use crate::access_keys::{created_event, status_event};
use crate::{
    access_key_not_found, transition, AccessKeyChange, AccessKeyEntity, AccessKeyListQuery, AccessKeyPage,
    AccessKeyRecord, AccessKeyStatus, AccessKeyStore, AuditContext, StatusTransition, StoreError,
    StoreResult,
};

const COLUMNS: &str = "jti, name, description, owner, subject, entity_type, issuer, audiences, \
                       issued_at, expires_at, status, updated_at";

fn record_from_row(row: &Row) -> StoreResult<AccessKeyRecord> {
    let entity: String = row.get(5);
    let status: String = row.get(10);
    Ok(AccessKeyRecord {
        jti: row.get(0),
        name: row.get(1),
        description: row.get(2),
        owner: row.get(3),
        subject: row.get(4),
        entity_type: AccessKeyEntity::parse(&entity)
            .ok_or_else(|| StoreError::Unavailable(format!("access_keys.entity_type `{entity}`")))?,
        issuer: row.get(6),
        audiences: row.get(7),
        issued_at: row.get(8),
        expires_at: row.get(9),
        status: AccessKeyStatus::parse(&status)
            .ok_or_else(|| StoreError::Unavailable(format!("access_keys.status `{status}`")))?,
        updated_at: row.get(11),
    })
}

impl AccessKeyStore for PostgresStore {
    fn create_access_key(&self, record: &AccessKeyRecord, audit: &AuditContext) -> StoreResult<()> {
        self.write_access(|tx| {
            tx.execute(
                &format!(
                    "INSERT INTO access_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ),
                &[
                    &record.jti,
                    &record.name,
                    &record.description,
                    &record.owner,
                    &record.subject,
                    &record.entity_type.as_str(),
                    &record.issuer,
                    &record.audiences,
                    &record.issued_at,
                    &record.expires_at,
                    &record.status.as_str(),
                    &record.updated_at,
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
        let row = self
            .read(|c| c.query_opt(&format!("SELECT {COLUMNS} FROM access_keys WHERE jti = $1"), &[&jti]))?;
        match row {
            Some(row) => record_from_row(&row),
            None => Err(access_key_not_found(jti)),
        }
    }

    fn list_access_keys(&self, query: &AccessKeyListQuery) -> StoreResult<AccessKeyPage> {
        let limit = i64::try_from(query.page_size.saturating_add(1)).unwrap_or(i64::MAX);
        let offset =
            i64::try_from(query.page.saturating_sub(1).saturating_mul(query.page_size)).unwrap_or(i64::MAX);
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM access_keys \
                     WHERE (owner = $1 AND entity_type = 'USER') OR ($2 AND entity_type = 'SERVICE_ACCOUNT') \
                     ORDER BY issued_at DESC, jti LIMIT $3 OFFSET $4"
                ),
                &[&query.owner, &query.include_service_accounts, &limit, &offset],
            )
        })?;
        let mut keys = rows.iter().map(record_from_row).collect::<StoreResult<Vec<_>>>()?;
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
        // Read first: a no-op takes no revision and writes nothing.
        let current = self.get_access_key(jti)?;
        if transition(&current, target, at)? == StatusTransition::Unchanged {
            return Ok(AccessKeyChange { record: current, changed: false });
        }
        self.write_access(|tx| {
            let row = tx
                .query_opt(&format!("SELECT {COLUMNS} FROM access_keys WHERE jti = $1 FOR UPDATE"), &[&jti])
                .map_err(unavailable)?
                .ok_or_else(|| access_key_not_found(jti))?;
            let before = record_from_row(&row)?;
            let mut record = before.clone();
            match transition(&record, target, at)? {
                StatusTransition::Unchanged => Ok(AccessKeyChange { record, changed: false }),
                StatusTransition::Write(status) => {
                    tx.execute(
                        "UPDATE access_keys SET status = $1, updated_at = $2 WHERE jti = $3",
                        &[&status.as_str(), &at, &jti],
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
        let rows = self.read(|c| c.query(&format!("SELECT {COLUMNS} FROM access_keys"), &[]))?;
        rows.iter().map(record_from_row).collect()
    }
}

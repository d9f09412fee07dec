//! The audit trail on SQLite: `record` appends an event on the caller's write transaction.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Row, Transaction};
use time::OffsetDateTime;

use super::{from_micros, to_micros, unavailable, SqliteStore};
use crate::audit::{audit_condition, AuditParam};
use crate::{AuditEvent, AuditQuery, AuditStore, NewAuditEvent, PageOf, StoreResult};

pub(crate) const COLUMNS: &str = "id, at, actor, action, workspace, principal, before, after, request_id";

/// Append `event` in `tx`, the transaction of the change it describes.
pub fn record(tx: &Transaction<'_>, event: &NewAuditEvent) -> StoreResult<()> {
    let json = |value: &Option<serde_json::Value>| value.as_ref().map(serde_json::Value::to_string);
    tx.execute(
        "INSERT INTO audit_events (at, actor, action, workspace, principal, before, after, request_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            to_micros(event.at),
            event.actor,
            event.action,
            event.workspace,
            event.principal,
            json(&event.before),
            json(&event.after),
            event.request_id
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

pub(crate) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<AuditEvent> {
    let json = |text: Option<String>| text.and_then(|text| serde_json::from_str(&text).ok());
    Ok(AuditEvent {
        id: row.get(0)?,
        at: from_micros(row.get(1)?),
        actor: row.get(2)?,
        action: row.get(3)?,
        workspace: row.get(4)?,
        principal: row.get(5)?,
        before: json(row.get(6)?),
        after: json(row.get(7)?),
        request_id: row.get(8)?,
    })
}

impl AuditStore for SqliteStore {
    fn list_audit_events(&self, query: &AuditQuery) -> StoreResult<PageOf<AuditEvent>> {
        let (condition, generic) = audit_condition(query);
        let params: Vec<SqlValue> = generic
            .into_iter()
            .map(|param| match param {
                AuditParam::Text(text) => SqlValue::Text(text),
                AuditParam::Time(at) => SqlValue::Integer(to_micros(at)),
            })
            .collect();
        let order = if query.oldest_first { "ASC" } else { "DESC" };
        let offset = query.page.saturating_sub(1).saturating_mul(query.page_size);
        self.read(|c| {
            let total: i64 = c.query_row(
                &format!("SELECT count(*) FROM audit_events WHERE {condition}"),
                params_from_iter(params.iter()),
                |r| r.get(0),
            )?;
            let mut statement = c.prepare(&format!(
                "SELECT {COLUMNS} FROM audit_events WHERE {condition} ORDER BY id {order} LIMIT {} OFFSET {offset}",
                query.page_size
            ))?;
            let items = statement
                .query_map(params_from_iter(params.iter()), event_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(PageOf { items, total: u64::try_from(total).unwrap_or(0) })
        })
    }

    fn prune_audit_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
        self.write(|tx| {
            let removed = tx
                .execute("DELETE FROM audit_events WHERE at < ?1", [to_micros(before)])
                .map_err(unavailable)?;
            Ok(removed as u64)
        })
    }
}

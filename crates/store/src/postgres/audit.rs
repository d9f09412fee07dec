//! The audit trail on PostgreSQL: `record` appends an event on the caller's write transaction.

use postgres::{GenericClient, Row};
use time::OffsetDateTime;

use super::{numbered, refs, unavailable, Params, PostgresStore};
use crate::audit::{audit_condition, AuditParam};
use crate::{AuditEvent, AuditQuery, AuditStore, NewAuditEvent, PageOf, StoreResult};

// JSON travels as text (`::jsonb` in, `::text` out), so the driver needs no JSON feature.
const COLUMNS: &str = "id, at, actor, action, workspace, principal, before::text, after::text, request_id";

/// Append `event` in `tx`, the transaction of the change it describes.
pub fn record(tx: &mut impl GenericClient, event: &NewAuditEvent) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO audit_events (at, actor, action, workspace, principal, before, after, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8)",
        &[
            &event.at,
            &event.actor,
            &event.action,
            &event.workspace,
            &event.principal,
            &event.before.as_ref().map(serde_json::Value::to_string),
            &event.after.as_ref().map(serde_json::Value::to_string),
            &event.request_id,
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn event_from_row(row: &Row) -> AuditEvent {
    let json =
        |index: usize| row.get::<_, Option<String>>(index).and_then(|text| serde_json::from_str(&text).ok());
    AuditEvent {
        id: row.get(0),
        at: row.get(1),
        actor: row.get(2),
        action: row.get(3),
        workspace: row.get(4),
        principal: row.get(5),
        before: json(6),
        after: json(7),
        request_id: row.get(8),
    }
}

impl AuditStore for PostgresStore {
    fn list_audit_events(&self, query: &AuditQuery) -> StoreResult<PageOf<AuditEvent>> {
        let (condition, generic) = audit_condition(query);
        let params: Params = generic
            .into_iter()
            .map(|param| -> Box<dyn postgres::types::ToSql + Sync + Send> {
                match param {
                    AuditParam::Text(text) => Box::new(text),
                    AuditParam::Time(at) => Box::new(at),
                }
            })
            .collect();
        let order = if query.oldest_first { "ASC" } else { "DESC" };
        let offset = query.page.saturating_sub(1).saturating_mul(query.page_size);
        let count_sql = numbered(&format!("SELECT count(*) FROM audit_events WHERE {condition}"));
        let page_sql = numbered(&format!(
            "SELECT {COLUMNS} FROM audit_events WHERE {condition} ORDER BY id {order} LIMIT {} OFFSET {offset}",
            query.page_size
        ));
        self.read(|c| {
            let total: i64 = c.query_one(&count_sql, &refs(&params))?.get(0);
            let items = c.query(&page_sql, &refs(&params))?.iter().map(event_from_row).collect();
            Ok(PageOf { items, total: u64::try_from(total).unwrap_or(0) })
        })
    }

    fn prune_audit_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
        self.write(|tx| tx.execute("DELETE FROM audit_events WHERE at < $1", &[&before]).map_err(unavailable))
    }
}

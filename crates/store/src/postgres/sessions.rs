//! Studio sessions on PostgreSQL. Session writes change no access, so they take no revision.

use time::OffsetDateTime;

use super::{unavailable, PostgresStore};
use crate::{SessionStore, StoreError, StoreResult, StoredSession};

fn session_not_found() -> StoreError {
    StoreError::NotFound("Session not found".into())
}

impl SessionStore for PostgresStore {
    fn create_session(&self, session: &StoredSession) -> StoreResult<()> {
        self.write(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO studio_sessions (id_hash, data, created_at, last_seen_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id_hash) DO NOTHING",
                    &[
                        &session.id_hash,
                        &session.data,
                        &session.created_at,
                        &session.last_seen_at,
                        &session.expires_at,
                    ],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Err(StoreError::Conflict("Session already exists".into()));
            }
            Ok(())
        })
    }

    fn get_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<StoredSession> {
        let row = self.read(|c| {
            c.query_opt(
                "SELECT id_hash, data, created_at, last_seen_at, expires_at FROM studio_sessions
                 WHERE id_hash = $1 AND expires_at > $2",
                &[&id_hash, &now],
            )
        })?;
        let row = row.ok_or_else(session_not_found)?;
        Ok(StoredSession {
            id_hash: row.get(0),
            data: row.get(1),
            created_at: row.get(2),
            last_seen_at: row.get(3),
            expires_at: row.get(4),
        })
    }

    fn update_session(&self, session: &StoredSession) -> StoreResult<()> {
        self.write(|tx| {
            let updated = tx
                .execute(
                    "UPDATE studio_sessions SET data = $2, last_seen_at = $3, expires_at = $4 WHERE id_hash = $1",
                    &[&session.id_hash, &session.data, &session.last_seen_at, &session.expires_at],
                )
                .map_err(unavailable)?;
            if updated == 0 {
                return Err(session_not_found());
            }
            Ok(())
        })
    }

    fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        self.write(|tx| {
            let deleted = tx
                .execute("DELETE FROM studio_sessions WHERE id_hash = $1", &[&id_hash])
                .map_err(unavailable)?;
            Ok(deleted > 0)
        })
    }

    fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        self.write(|tx| {
            tx.execute("DELETE FROM studio_sessions WHERE expires_at <= $1", &[&now]).map_err(unavailable)
        })
    }
}

//! Studio sessions on SQLite.

use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{from_micros, to_micros, unavailable, SqliteStore};
use crate::{SessionStore, StoreError, StoreResult, StoredSession};

fn session_not_found() -> StoreError {
    StoreError::NotFound("Session not found".into())
}

impl SessionStore for SqliteStore {
    fn create_session(&self, session: &StoredSession) -> StoreResult<()> {
        self.write(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO studio_sessions (id_hash, data, created_at, last_seen_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id_hash) DO NOTHING",
                    params![
                        session.id_hash,
                        session.data,
                        to_micros(session.created_at),
                        to_micros(session.last_seen_at),
                        to_micros(session.expires_at)
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
        let found = self.read(|c| {
            c.query_row(
                "SELECT id_hash, data, created_at, last_seen_at, expires_at FROM studio_sessions
                 WHERE id_hash = ?1 AND expires_at > ?2",
                params![id_hash, to_micros(now)],
                |row| {
                    Ok(StoredSession {
                        id_hash: row.get(0)?,
                        data: row.get(1)?,
                        created_at: from_micros(row.get(2)?),
                        last_seen_at: from_micros(row.get(3)?),
                        expires_at: from_micros(row.get(4)?),
                    })
                },
            )
            .optional()
        })?;
        found.ok_or_else(session_not_found)
    }

    fn update_session(&self, session: &StoredSession) -> StoreResult<()> {
        self.write(|tx| {
            let updated = tx
                .execute(
                    "UPDATE studio_sessions SET data = ?2, last_seen_at = ?3, expires_at = ?4 WHERE id_hash = ?1",
                    params![
                        session.id_hash,
                        session.data,
                        to_micros(session.last_seen_at),
                        to_micros(session.expires_at)
                    ],
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
                .execute("DELETE FROM studio_sessions WHERE id_hash = ?1", [id_hash])
                .map_err(unavailable)?;
            Ok(deleted > 0)
        })
    }

    fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        self.write(|tx| {
            let deleted = tx
                .execute("DELETE FROM studio_sessions WHERE expires_at <= ?1", [to_micros(now)])
                .map_err(unavailable)?;
            Ok(deleted as u64)
        })
    }
}

-- The audit trail of access changes, append-only: rows are inserted in the transaction of the
-- change they describe, never updated (the trigger refuses it); retention deletes old rows.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,          -- microseconds since the epoch, UTC
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    workspace  TEXT,
    principal  TEXT,
    before     TEXT,                      -- JSON
    after      TEXT,                      -- JSON
    request_id TEXT
);
CREATE INDEX audit_events_workspace ON audit_events (workspace, id);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

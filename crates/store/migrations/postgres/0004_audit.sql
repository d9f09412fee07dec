-- The audit trail of access changes, append-only: rows are inserted in the transaction of the
-- change they describe, never updated (the trigger refuses it); retention deletes old rows.
CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    workspace  TEXT,
    principal  TEXT,
    before     JSONB,
    after      JSONB,
    request_id TEXT
);
CREATE INDEX audit_events_workspace ON audit_events (workspace, id);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

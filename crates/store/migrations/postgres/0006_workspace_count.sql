-- The number of workspaces, kept by statement-level triggers in the same transaction as every
-- insert and delete, so the unfiltered list's total is one row read, not a count over the table
-- on every request. Concurrent writers queue on the row's lock; each adds its own rows' count to
-- the latest committed value, so the total stays exact.
CREATE TABLE workspace_count (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    total     BIGINT NOT NULL
);
INSERT INTO workspace_count (total) SELECT count(*) FROM workspaces;

CREATE FUNCTION workspace_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workspace_count SET total = total + (SELECT count(*) FROM inserted_rows);
    RETURN NULL;
END $$;
CREATE FUNCTION workspace_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workspace_count SET total = total - (SELECT count(*) FROM deleted_rows);
    RETURN NULL;
END $$;
CREATE TRIGGER workspace_count_insert AFTER INSERT ON workspaces
    REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION workspace_count_inserted();
CREATE TRIGGER workspace_count_delete AFTER DELETE ON workspaces
    REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION workspace_count_deleted();

-- The default order (newest first, id breaking ties) straight from an index.
CREATE INDEX workspaces_created_at_id ON workspaces (created_at, id);
DROP INDEX workspaces_created_at;

-- What the server reads at start to build its index, and nothing else: a scan of this index
-- instead of the table, in principal order.
CREATE INDEX role_bindings_active ON role_bindings (principal, workspace, role) WHERE revoked_at IS NULL;

-- The number of workspaces, kept by triggers in the same transaction as every insert and delete
-- (writers are serialized), so the unfiltered list's total is one row read, not a count over the
-- table on every request.
CREATE TABLE workspace_count (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    total     INTEGER NOT NULL
);
INSERT INTO workspace_count (singleton, total) SELECT 1, count(*) FROM workspaces;
CREATE TRIGGER workspace_count_insert AFTER INSERT ON workspaces BEGIN
    UPDATE workspace_count SET total = total + 1 WHERE singleton = 1;
END;
CREATE TRIGGER workspace_count_delete AFTER DELETE ON workspaces BEGIN
    UPDATE workspace_count SET total = total - 1 WHERE singleton = 1;
END;
-- The default order (newest first, id breaking ties) straight from an index.
CREATE INDEX workspaces_created_at_id ON workspaces (created_at, id);
DROP INDEX workspaces_created_at;

-- What the server reads at start to build its index, and nothing else: a scan of this index
-- instead of the table, in principal order.
CREATE INDEX role_bindings_active ON role_bindings (principal, workspace, role) WHERE revoked_at IS NULL;

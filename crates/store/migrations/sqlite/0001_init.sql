-- Workspaces, role bindings and projects. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE INDEX workspaces_created_at ON workspaces (created_at);

CREATE TABLE role_bindings (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    principal   TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    role        TEXT NOT NULL,
    granted_by  TEXT NOT NULL,
    granted_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
-- At most one row per (principal, workspace, role): re-granting re-activates it.
CREATE UNIQUE INDEX role_bindings_triple ON role_bindings (principal, workspace, role);
CREATE INDEX role_bindings_workspace ON role_bindings (workspace, revoked_at);
CREATE INDEX role_bindings_granted_at ON role_bindings (granted_at);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    workspace   TEXT NOT NULL REFERENCES workspaces (name) ON DELETE RESTRICT,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    UNIQUE (workspace, name)
);

-- Workspaces, role bindings and projects, as in SQLite. Text compares byte-wise (COLLATE "C")
-- so sorting and paging give the same order on both backends.
CREATE TABLE workspaces (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT COLLATE "C",
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX workspaces_created_at ON workspaces (created_at);

CREATE TABLE role_bindings (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    principal   TEXT COLLATE "C" NOT NULL,
    workspace   TEXT COLLATE "C" NOT NULL,
    role        TEXT COLLATE "C" NOT NULL,
    granted_by  TEXT COLLATE "C" NOT NULL,
    granted_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
-- At most one row per (principal, workspace, role): re-granting re-activates it.
CREATE UNIQUE INDEX role_bindings_triple ON role_bindings (principal, workspace, role);
CREATE INDEX role_bindings_workspace ON role_bindings (workspace, revoked_at);
CREATE INDEX role_bindings_granted_at ON role_bindings (granted_at);

CREATE TABLE projects (
    id          TEXT COLLATE "C" PRIMARY KEY,
    workspace   TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name) ON DELETE RESTRICT,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  TEXT COLLATE "C" NOT NULL,
    UNIQUE (workspace, name)
);

-- The change feed. Every transaction that changes access (bindings, workspaces) first bumps the
-- single revision row: that row lock orders those transactions, so revisions follow commit
-- order (a sequence would not) and checks such as "keep the last Admin" cannot race.
CREATE TABLE access_revision (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    revision  BIGINT NOT NULL
);
INSERT INTO access_revision (revision) VALUES (0);

-- One row per committed access change: which replica (store instance) wrote it, and when.
CREATE TABLE access_changes (
    revision     BIGINT PRIMARY KEY,
    writer       TEXT NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

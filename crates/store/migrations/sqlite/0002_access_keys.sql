-- The Scoped Access Key registry: metadata and status only, never the key or a hash of it.
-- Times are microseconds since the Unix epoch, UTC; audiences is a JSON array.
CREATE TABLE access_keys (
    jti         TEXT PRIMARY KEY,
    name        TEXT,
    description TEXT,
    owner       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('USER', 'SERVICE_ACCOUNT')),
    issuer      TEXT NOT NULL,
    audiences   TEXT NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'REVOKED')),
    updated_at  INTEGER NOT NULL
);
CREATE INDEX access_keys_owner ON access_keys (owner, issued_at);
CREATE INDEX access_keys_entity_type ON access_keys (entity_type, issued_at);

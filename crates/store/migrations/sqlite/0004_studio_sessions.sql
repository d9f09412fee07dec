-- Studio's browser sessions. `id_hash` is the SHA-256 of the cookie's secret (a copy of the
-- database does not hand out live cookies); `data` is the server's own JSON (identity, tokens,
-- anti-CSRF token, pending sign-in), opaque to the store.
CREATE TABLE studio_sessions (
    id_hash      TEXT PRIMARY KEY,
    data         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX studio_sessions_expires_at ON studio_sessions (expires_at);

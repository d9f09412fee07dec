-- Live replicas: each records the newest access revision its in-memory index has applied, and
-- a heartbeat. A role change that waits for propagation waits until every replica with a
-- recent heartbeat has applied its revision.
CREATE TABLE replicas (
    instance         TEXT PRIMARY KEY,
    applied_revision BIGINT NOT NULL,
    heartbeat_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The transactional outbox: domain code inserts rows in its own transaction;
-- the relay enqueues them to asynq after commit and stamps sent_at.
CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    task_type   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    queue       TEXT NOT NULL DEFAULT 'default',
    process_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;
--bun:split
-- Side effects of idempotent consumers: one row per (consumer, key) that
-- has been carried out, so a retried task never acts twice.
CREATE TABLE processed_tasks (
    consumer     TEXT NOT NULL,
    key          TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer, key)
);

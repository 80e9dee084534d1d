-- The subscribe-message consent ledger: what each member allowed for each
-- template. remaining counts one-time consents not yet spent; long_term is
-- a standing consent of a long-term template, which sends do not spend.
CREATE TABLE subscribe_consents (
    member_id   TEXT NOT NULL,
    template_id TEXT NOT NULL,
    remaining   INTEGER NOT NULL DEFAULT 0,
    long_term   BOOLEAN NOT NULL DEFAULT FALSE,
    granted     INTEGER NOT NULL DEFAULT 0,
    used        INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_id, template_id)
);
--bun:split
-- Every subscribe message asked for, by its idempotency key: pending while
-- WeChat has not answered, then sent, refused (43101) or rejected.
CREATE TABLE subscribe_sends (
    key         TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL,
    template_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX subscribe_sends_member ON subscribe_sends (member_id, created_at);

-- Staff accounts of the brand. name is the sign-in name (lower case);
-- password_hash is an argon2id PHC string. failed_logins counts wrong
-- passwords in a row; locked_until is set when they reach the limit.
CREATE TABLE staff_accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX staff_accounts_name ON staff_accounts (name);
--bun:split
-- Staff sessions (the console cookie): only the SHA-256 of the token.
CREATE TABLE staff_sessions (
    id           TEXT PRIMARY KEY,
    staff_id     TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX staff_sessions_token ON staff_sessions (token_hash);
--bun:split
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
--bun:split
-- The audit log of staff actions: who (staff_id, '' for the command line),
-- what (action, such as "show.start"), on which object, with details as
-- JSON. Rows are only ever added.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    staff_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, id);
--bun:split
CREATE INDEX audit_log_staff ON audit_log (staff_id, id);

-- Live-room comments. Hidden ones failed moderation (or could not be
-- checked) and are never broadcast; deleted ones were removed by staff.
CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    show_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    nickname   TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL,
    status     TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX comments_show ON comments (show_id, status, id);
--bun:split
-- The brand's own blocked words, checked before WeChat's content check.
CREATE TABLE chat_blocklist (
    word       TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

-- Live shows and their timeline. A show moves scheduled → live → ended →
-- replay_ready (or scheduled → cancelled); every change is made under the
-- show's row lock.
CREATE TABLE shows (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    cover_url         TEXT NOT NULL DEFAULT '',
    scheduled_at      TIMESTAMPTZ NOT NULL,
    host_staff_id     TEXT NOT NULL,
    host_name         TEXT NOT NULL DEFAULT '',
    assistant_ids     TEXT NOT NULL DEFAULT '[]',
    mode              TEXT NOT NULL,
    status            TEXT NOT NULL,
    room_name         TEXT NOT NULL,
    live_at           TIMESTAMPTZ,
    ended_at          TIMESTAMPTZ,
    cancelled_at      TIMESTAMPTZ,
    recording_status  TEXT NOT NULL DEFAULT 'none',
    recording_note    TEXT NOT NULL DEFAULT '',
    egress_id         TEXT NOT NULL DEFAULT '',
    hls_url           TEXT NOT NULL DEFAULT '',
    pinned_product_id TEXT NOT NULL DEFAULT '',
    pinned_at         TIMESTAMPTZ,
    announcement      TEXT NOT NULL DEFAULT '',
    likes             BIGINT NOT NULL DEFAULT 0,
    viewers           INTEGER NOT NULL DEFAULT 0,
    peak_viewers      INTEGER NOT NULL DEFAULT 0,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX shows_room_name ON shows (room_name);
--bun:split
CREATE INDEX shows_status_scheduled ON shows (status, scheduled_at);
--bun:split
CREATE INDEX shows_egress ON shows (egress_id) WHERE egress_id <> '';
--bun:split
-- The timeline: every transition and control action, with who did it.
CREATE TABLE show_events (
    id      TEXT PRIMARY KEY,
    show_id TEXT NOT NULL,
    kind    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL,
    data    TEXT NOT NULL DEFAULT '{}'
);
--bun:split
CREATE INDEX show_events_show ON show_events (show_id, at);

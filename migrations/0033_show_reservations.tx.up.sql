-- A shopper's reservation of a show, with the subscribe-message templates
-- they accepted when reserving.
CREATE TABLE show_reservations (
    id           TEXT PRIMARY KEY,
    show_id      TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    template_ids TEXT NOT NULL DEFAULT '[]',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX show_reservations_member ON show_reservations (show_id, member_id);
--bun:split
-- The recording of an ended show and its chapters (JSON).
CREATE TABLE replays (
    show_id     TEXT PRIMARY KEY,
    egress_id   TEXT NOT NULL,
    url         TEXT NOT NULL,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    chapters    TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMPTZ NOT NULL
);

-- One row per participant session of a viewer, keyed by (show, identity,
-- participant sid) so duplicated or reordered LiveKit events land on the
-- same row. joined_at is unknown until a join (or a leave, which carries the
-- join time) is seen; left_at is NULL while the viewer is in the room.
CREATE TABLE viewer_sessions (
    show_id         TEXT NOT NULL,
    identity        TEXT NOT NULL,
    participant_sid TEXT NOT NULL,
    joined_at       TIMESTAMPTZ,
    left_at         TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (show_id, identity, participant_sid)
);
--bun:split
CREATE INDEX viewer_sessions_open ON viewer_sessions (show_id) WHERE left_at IS NULL;
--bun:split
-- Viewers muted (no chat) or removed (no chat, no joining) from a show.
CREATE TABLE show_bans (
    show_id     TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    by_staff_id TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (show_id, member_id, kind)
);
--bun:split
-- LiveKit webhook events already applied: the id is stored in the same
-- transaction as the event's effect, so a replayed event has none.
CREATE TABLE livekit_events (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    room_name   TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);

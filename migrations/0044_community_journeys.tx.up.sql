-- The built-in journeys (win_back, group_welcome): their settings and the
-- recurring campaign that carries them out.
CREATE TABLE journeys (
    kind        TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL DEFAULT FALSE,
    config      TEXT NOT NULL,
    campaign_id TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX campaigns_journey ON campaigns (journey) WHERE journey <> '';

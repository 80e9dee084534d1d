-- Campaigns, their runs and one delivery row per (run, channel, member):
-- the row is written before anything is sent, and its state says what
-- happened, so a retried or restarted worker never acts twice.
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    journey     TEXT NOT NULL DEFAULT '',
    segment_id  TEXT NOT NULL DEFAULT '',
    rule        TEXT NOT NULL DEFAULT '',
    actions     TEXT NOT NULL,
    schedule    TEXT NOT NULL,
    run_at      TIMESTAMPTZ,
    every_secs  INTEGER NOT NULL DEFAULT 0,
    quiet_start INTEGER NOT NULL DEFAULT -1,
    quiet_end   INTEGER NOT NULL DEFAULT -1,
    status      TEXT NOT NULL,
    next_run_at TIMESTAMPTZ,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX campaigns_status ON campaigns (status, created_at);
--bun:split
-- A run is one occurrence of a campaign (one for "now" and "at", one per
-- period for recurring ones). rule and actions are copied when it starts,
-- and as_of fixes "now" for every chunk. next_after is the member id after
-- which the next chunk starts. One worker at a time works on a run: it
-- holds the lease (lease_owner until lease_until) and renews it.
CREATE TABLE campaign_runs (
    id          TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    occurrence  TEXT NOT NULL,
    rule        TEXT NOT NULL,
    actions     TEXT NOT NULL,
    as_of       TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL,
    next_after  TEXT NOT NULL DEFAULT '',
    chunks      INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMPTZ,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (campaign_id, occurrence)
);
--bun:split
CREATE INDEX campaign_runs_status ON campaign_runs (status, started_at);
--bun:split
-- state: pending → sending → sent | failed, or pending → skipped.
-- attempts counts tries that failed for a reason that may pass.
CREATE TABLE campaign_deliveries (
    run_id      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, channel, member_id)
);
--bun:split
CREATE INDEX campaign_deliveries_member ON campaign_deliveries (member_id, campaign_id);
--bun:split
-- Progress counts a run's rows by channel, state and reason.
CREATE INDEX campaign_deliveries_state ON campaign_deliveries (run_id, channel, state, reason);
--bun:split
CREATE INDEX campaign_deliveries_campaign ON campaign_deliveries (campaign_id, member_id);

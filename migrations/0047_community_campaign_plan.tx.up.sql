-- A run plans every delivery when it starts, in one statement per channel:
-- planned_at is when its rows were written (NULL until then; a run started
-- by hand is planned by the first task that works on it). next_after stays
-- the member id after which the next chunk is sent. Runs that ended before
-- count as planned; running and paused ones are planned (the rest of their
-- rows) by their next task.
ALTER TABLE campaign_runs ADD COLUMN planned_at TIMESTAMPTZ;
--bun:split
UPDATE campaign_runs SET planned_at = COALESCE(finished_at, updated_at) WHERE status IN ('completed', 'cancelled');
--bun:split
-- Deliveries are looked up by run (the primary key) and by campaign and
-- member (campaign_deliveries_campaign, for not_targeted_by); an index by
-- member alone only cost every planned and settled row one more write.
DROP INDEX campaign_deliveries_member;

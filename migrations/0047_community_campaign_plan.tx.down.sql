CREATE INDEX campaign_deliveries_member ON campaign_deliveries (member_id, campaign_id);
--bun:split
ALTER TABLE campaign_runs DROP COLUMN planned_at;

ALTER TABLE campaign_deliveries ADD COLUMN campaign_id TEXT NOT NULL DEFAULT '';
--bun:split
{{if .Postgres}}ALTER TABLE campaign_deliveries ALTER COLUMN campaign_id DROP DEFAULT{{else}}SELECT 1{{end}};
--bun:split
UPDATE campaign_deliveries SET campaign_id = COALESCE((SELECT cr.campaign_id FROM campaign_runs cr WHERE cr.id = campaign_deliveries.run_id), '');
--bun:split
CREATE INDEX campaign_deliveries_campaign ON campaign_deliveries (campaign_id, member_id);

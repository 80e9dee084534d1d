DROP TABLE campaign_deliveries;
--bun:split
DROP TABLE campaign_runs;
--bun:split
DROP TABLE campaigns;

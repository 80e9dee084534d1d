{{if .Postgres}}ALTER TABLE subscribe_consents RESET (fillfactor){{else}}SELECT 1{{end}};
--bun:split
{{if .Postgres}}ALTER TABLE campaign_deliveries RESET (fillfactor){{else}}SELECT 1{{end}};
--bun:split
CREATE INDEX campaign_deliveries_state ON campaign_deliveries (run_id, channel, state, reason);

-- Sending a campaign updates every delivery row and spends a consent per
-- message. Both are cheap for PostgreSQL as heap-only (HOT) updates: no
-- index changes, when no indexed column changes and the row's page has
-- room for the new version.
-- Progress counts a run's rows through the primary key (run_id, …); an
-- index on state made every state change rewrite all of a row's index
-- entries.
DROP INDEX campaign_deliveries_state;
--bun:split
-- A run's rows are written together and each is updated in the chunk's
-- transaction, so half of each page is kept free for the new versions.
{{if .Postgres}}ALTER TABLE campaign_deliveries SET (fillfactor = 50){{else}}SELECT 1{{end}};
--bun:split
{{if .Postgres}}ALTER TABLE subscribe_consents SET (fillfactor = 70){{else}}SELECT 1{{end}};

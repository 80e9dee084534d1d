-- When each comment was stored. Comments are stored by moderators on
-- every replica, each taking its own batches, so comment ids (taken when
-- a shopper posts) do not follow the order comments are stored in: the
-- control room's feed follows stored_at instead, looking back a few
-- seconds for late commits. Comments stored before this column existed
-- count as stored when they were posted.
ALTER TABLE comments ADD COLUMN stored_at TIMESTAMPTZ;
--bun:split
UPDATE comments SET stored_at = created_at;
--bun:split
CREATE INDEX comments_stored ON comments (show_id, stored_at);
--bun:split
-- A worker older than this column (during a rolling deploy) stores its
-- comments without stored_at: PostgreSQL stamps them. SQLite serves a
-- single process, which never meets an older worker.
{{if .Postgres}}ALTER TABLE comments ALTER COLUMN stored_at SET DEFAULT now(){{else}}SELECT 1{{end}};

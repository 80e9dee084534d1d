DROP INDEX comments_stored;
--bun:split
ALTER TABLE comments DROP COLUMN stored_at;

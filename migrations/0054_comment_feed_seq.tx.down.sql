{{if .Postgres}}DROP TRIGGER comments_number ON comments{{else}}DROP TRIGGER comments_number{{end}};
--bun:split
{{if .Postgres}}DROP FUNCTION comments_number(){{else}}SELECT 1{{end}};
--bun:split
CREATE INDEX comments_stored ON comments (show_id, stored_at);
--bun:split
DROP INDEX comments_feed;
--bun:split
ALTER TABLE comments DROP COLUMN seq;
--bun:split
DROP TABLE comment_feeds;

-- Each show's comments are numbered in the order they are stored: a
-- moderator takes the next numbers from the show's row in comment_feeds
-- in the transaction that stores the comments, and holds that row until
-- it commits, so a show's comments become visible in the order of their
-- numbers. The control room follows a show's feed by number, exactly,
-- instead of rereading the ten seconds before its cursor (stored_at) each
-- time for comments committed late.
CREATE TABLE comment_feeds (
	show_id TEXT PRIMARY KEY,
	seq BIGINT NOT NULL
);
--bun:split
ALTER TABLE comments ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
--bun:split
-- Comments stored before this migration are numbered in the order the
-- feed followed them.
UPDATE comments SET seq = r.n FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY show_id ORDER BY COALESCE(stored_at, created_at), id) AS n
	FROM comments) AS r WHERE comments.id = r.id;
--bun:split
INSERT INTO comment_feeds (show_id, seq) SELECT show_id, MAX(seq) FROM comments GROUP BY show_id;
--bun:split
CREATE UNIQUE INDEX comments_feed ON comments (show_id, seq);
--bun:split
DROP INDEX comments_stored;
--bun:split
-- A comment inserted without a number (by a worker older than this
-- column during a rolling deploy, or by hand) is numbered as it is
-- inserted. Siyu's moderators number theirs a batch at a time instead,
-- one statement for every show in the batch.
{{if .Postgres}}CREATE FUNCTION comments_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO comment_feeds AS f (show_id, seq) VALUES (NEW.show_id, 1)
		ON CONFLICT (show_id) DO UPDATE SET seq = f.seq + 1
		RETURNING f.seq INTO NEW.seq;
	RETURN NEW;
END
$${{else}}SELECT 1{{end}};
--bun:split
{{if .Postgres}}CREATE TRIGGER comments_number BEFORE INSERT ON comments
	FOR EACH ROW WHEN (NEW.seq = 0) EXECUTE FUNCTION comments_number(){{else}}CREATE TRIGGER comments_number AFTER INSERT ON comments
	FOR EACH ROW WHEN NEW.seq = 0
BEGIN
	INSERT INTO comment_feeds (show_id, seq) VALUES (NEW.show_id, 1)
		ON CONFLICT (show_id) DO UPDATE SET seq = comment_feeds.seq + 1;
	UPDATE comments SET seq = (SELECT seq FROM comment_feeds WHERE show_id = NEW.show_id) WHERE id = NEW.id;
END{{end}};

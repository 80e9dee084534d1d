DROP INDEX viewer_sessions_identity;
--bun:split
DROP INDEX comments_member;

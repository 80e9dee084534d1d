-- Indexes the segment rules need on other areas' tables: comments and
-- viewer sessions looked up by member (segments and the member profile).
CREATE INDEX comments_member ON comments (member_id, created_at);
--bun:split
CREATE INDEX viewer_sessions_identity ON viewer_sessions (identity, show_id);

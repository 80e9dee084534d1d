DROP TABLE livekit_events;
--bun:split
DROP TABLE show_bans;
--bun:split
DROP TABLE viewer_sessions;

DROP TABLE member_touches;
--bun:split
DROP TABLE member_sessions;
--bun:split
DROP TABLE member_wechat_sessions;
--bun:split
DROP TABLE members;

DROP TABLE chat_blocklist;
--bun:split
DROP TABLE comments;

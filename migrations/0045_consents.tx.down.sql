DROP TABLE subscribe_sends;
--bun:split
DROP TABLE subscribe_consents;

DROP TABLE audit_log;
--bun:split
DROP TABLE staff_sessions;
--bun:split
DROP TABLE staff_accounts;

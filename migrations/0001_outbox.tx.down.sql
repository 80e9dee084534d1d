DROP TABLE processed_tasks;
--bun:split
DROP TABLE outbox;

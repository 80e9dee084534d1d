DROP TABLE show_events;
--bun:split
DROP TABLE shows;

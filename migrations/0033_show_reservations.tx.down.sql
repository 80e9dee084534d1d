DROP TABLE replays;
--bun:split
DROP TABLE show_reservations;

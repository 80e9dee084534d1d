DROP INDEX campaigns_journey;
--bun:split
DROP TABLE journeys;

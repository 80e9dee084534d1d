DROP TABLE traffic_conversions;
--bun:split
DROP TABLE wecom_events;
--bun:split
DROP TABLE wecom_ways;
--bun:split
DROP TABLE wecom_contacts;
--bun:split
DROP TABLE wecom_group_members;
--bun:split
DROP TABLE wecom_groups;

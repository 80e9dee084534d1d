DROP TABLE segments;
--bun:split
DROP TABLE member_tags;
--bun:split
DROP TABLE tags;

-- Member tags and segments. A manual tag is put on members by staff; a rule
-- tag holds the members its rule (the segment rule language) selected when
-- it was last evaluated. A segment is a named rule, evaluated when used.
CREATE TABLE tags (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rule         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    members      INTEGER NOT NULL DEFAULT 0,
    evaluated_at TIMESTAMPTZ,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX tags_name ON tags (name);
--bun:split
CREATE TABLE member_tags (
    member_id  TEXT NOT NULL,
    tag_id     TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_id, tag_id)
);
--bun:split
CREATE INDEX member_tags_tag ON member_tags (tag_id, member_id);
--bun:split
CREATE TABLE segments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rule        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX segments_name ON segments (name);

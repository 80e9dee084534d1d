-- WeCom customer groups (客户群) and their members, customers (外部联系人) of
-- staff, the join ways and contact ways Siyu created with their
-- attribution, the callback events received, and the conversions into
-- private traffic they recorded.
CREATE TABLE wecom_groups (
    chat_id        TEXT PRIMARY KEY,
    name           TEXT NOT NULL DEFAULT '',
    owner          TEXT NOT NULL DEFAULT '',
    notice         TEXT NOT NULL DEFAULT '',
    status         INTEGER NOT NULL DEFAULT 0,
    member_version TEXT NOT NULL DEFAULT '',
    members        INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL,
    synced_at      TIMESTAMPTZ NOT NULL,
    gone_at        TIMESTAMPTZ
);
--bun:split
-- user_id is an external_userid (type 2) or a staff userid (type 1);
-- left_at is set while the person is out of the group. People are linked
-- to members by unionid.
CREATE TABLE wecom_group_members (
    chat_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    type       INTEGER NOT NULL,
    unionid    TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL DEFAULT '',
    join_scene INTEGER NOT NULL DEFAULT 0,
    invitor    TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT '',
    joined_at  TIMESTAMPTZ NOT NULL,
    left_at    TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
--bun:split
CREATE INDEX wecom_group_members_unionid ON wecom_group_members (unionid);
--bun:split
CREATE TABLE wecom_contacts (
    external_userid TEXT NOT NULL,
    staff_userid    TEXT NOT NULL,
    unionid         TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT '',
    added_at        TIMESTAMPTZ NOT NULL,
    removed_at      TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (external_userid, staff_userid)
);
--bun:split
CREATE INDEX wecom_contacts_unionid ON wecom_contacts (unionid);
--bun:split
-- kind is join_way (group QR code) or contact_way (「联系我」); state is the
-- short code WeCom hands back with every join or add through the way.
CREATE TABLE wecom_ways (
    config_id   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    targets     TEXT NOT NULL DEFAULT '[]',
    remark      TEXT NOT NULL DEFAULT '',
    qr_code     TEXT NOT NULL DEFAULT '',
    show_id     TEXT NOT NULL DEFAULT '',
    campaign_id TEXT NOT NULL DEFAULT '',
    inviter_id  TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    deleted_at  TIMESTAMPTZ
);
--bun:split
CREATE UNIQUE INDEX wecom_ways_state ON wecom_ways (state);
--bun:split
-- Every decrypted callback event, by the hash of its plaintext: WeCom sends
-- an event again when it gets no answer in time, and the copy is dropped.
CREATE TABLE wecom_events (
    id           TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    change_type  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ,
    last_error   TEXT NOT NULL DEFAULT ''
);
--bun:split
-- The first time a person joined a group or added a staff member, with the
-- way's attribution. target is the chat id or the staff userid.
CREATE TABLE traffic_conversions (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    external_userid TEXT NOT NULL,
    target          TEXT NOT NULL,
    unionid         TEXT NOT NULL DEFAULT '',
    member_id       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL,
    way_id          TEXT NOT NULL DEFAULT '',
    show_id         TEXT NOT NULL DEFAULT '',
    campaign_id     TEXT NOT NULL DEFAULT '',
    inviter_id      TEXT NOT NULL DEFAULT '',
    occurred_at     TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX traffic_conversions_once ON traffic_conversions (kind, external_userid, target);
--bun:split
CREATE INDEX traffic_conversions_member ON traffic_conversions (member_id);
--bun:split
CREATE INDEX traffic_conversions_show ON traffic_conversions (show_id, occurred_at);

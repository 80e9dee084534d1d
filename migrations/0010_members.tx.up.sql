-- Shoppers (members) and their WeChat identity. openid is the member's id
-- in this mini-program; unionid is set when the mini-program is bound to an
-- Open Platform account. first_* is the first-touch attribution, written on
-- the first login and never changed.
CREATE TABLE members (
    id                 TEXT PRIMARY KEY,
    openid             TEXT NOT NULL,
    unionid            TEXT NOT NULL DEFAULT '',
    nickname           TEXT NOT NULL DEFAULT '',
    avatar_url         TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    phone_country_code TEXT NOT NULL DEFAULT '',
    phone_bound_at     TIMESTAMPTZ,
    first_scene        INTEGER NOT NULL DEFAULT 0,
    first_inviter_id   TEXT NOT NULL DEFAULT '',
    first_show_id      TEXT NOT NULL DEFAULT '',
    first_group_id     TEXT NOT NULL DEFAULT '',
    first_channel      TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX members_openid ON members (openid);
--bun:split
CREATE INDEX members_unionid ON members (unionid) WHERE unionid <> '';
--bun:split
CREATE INDEX members_phone ON members (phone) WHERE phone <> '';
--bun:split
CREATE INDEX members_first_inviter ON members (first_inviter_id) WHERE first_inviter_id <> '';
--bun:split
CREATE INDEX members_first_show ON members (first_show_id) WHERE first_show_id <> '';
--bun:split
-- The member's latest WeChat session_key, sealed with AES-256-GCM under
-- SIYU_SECRET_KEY ("v1:" + base64(nonce || ciphertext)); kept apart from
-- members so that reading members never touches it.
CREATE TABLE member_wechat_sessions (
    member_id   TEXT PRIMARY KEY,
    session_key TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
-- Shopper sessions: only the SHA-256 of the opaque token is stored.
CREATE TABLE member_sessions (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX member_sessions_token ON member_sessions (token_hash);
--bun:split
CREATE INDEX member_sessions_member ON member_sessions (member_id, expires_at);
--bun:split
-- Every login that carried attribution (scene, share parameters), the
-- first one included (is_first).
CREATE TABLE member_touches (
    id         TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL,
    scene      INTEGER NOT NULL DEFAULT 0,
    inviter_id TEXT NOT NULL DEFAULT '',
    show_id    TEXT NOT NULL DEFAULT '',
    group_id   TEXT NOT NULL DEFAULT '',
    channel    TEXT NOT NULL DEFAULT '',
    is_first   BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX member_touches_member ON member_touches (member_id, id);
--bun:split
CREATE INDEX member_touches_inviter ON member_touches (inviter_id) WHERE inviter_id <> '';

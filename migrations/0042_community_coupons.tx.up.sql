-- Coupon templates, the coupons granted from them, and coupon drops in
-- shows. A template's issued counts every coupon granted plus the units
-- allotted to unfinished drops, so it never passes total_stock.
CREATE TABLE coupon_templates (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    threshold        BIGINT NOT NULL DEFAULT 0 CHECK (threshold >= 0),
    amount_off       BIGINT NOT NULL DEFAULT 0 CHECK (amount_off >= 0),
    percent_off      INTEGER NOT NULL DEFAULT 0 CHECK (percent_off >= 0 AND percent_off < 100),
    max_discount     BIGINT NOT NULL DEFAULT 0 CHECK (max_discount >= 0),
    valid_from       TIMESTAMPTZ,
    valid_until      TIMESTAMPTZ,
    valid_days       INTEGER NOT NULL DEFAULT 0,
    total_stock      INTEGER NOT NULL CHECK (total_stock > 0),
    issued           INTEGER NOT NULL DEFAULT 0,
    per_member_limit INTEGER NOT NULL CHECK (per_member_limit > 0),
    product_ids      TEXT NOT NULL DEFAULT '[]',
    disabled         BOOLEAN NOT NULL DEFAULT FALSE,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    CHECK (issued >= 0 AND issued <= total_stock)
);
--bun:split
-- status: available, reserved (by an unpaid order), used, expired, revoked.
-- source is staff, campaign or drop; source_id the run or drop.
CREATE TABLE coupons (
    id          TEXT PRIMARY KEY,
    template_id TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    source      TEXT NOT NULL,
    source_id   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    valid_from  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    order_id    TEXT NOT NULL DEFAULT '',
    discount    BIGINT NOT NULL DEFAULT 0,
    granted_by  TEXT NOT NULL DEFAULT '',
    granted_at  TIMESTAMPTZ NOT NULL,
    reserved_at TIMESTAMPTZ,
    used_at     TIMESTAMPTZ,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX coupons_member ON coupons (member_id, status, expires_at);
--bun:split
CREATE INDEX coupons_template_member ON coupons (template_id, member_id);
--bun:split
CREATE INDEX coupons_expiry ON coupons (status, expires_at);
--bun:split
CREATE INDEX coupons_source ON coupons (source, source_id);
--bun:split
-- A drop offers quantity coupons of a template in a show, at most
-- per_member_limit to each member, between starts_at and ends_at.
CREATE TABLE coupon_drops (
    id               TEXT PRIMARY KEY,
    show_id          TEXT NOT NULL,
    template_id      TEXT NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    per_member_limit INTEGER NOT NULL CHECK (per_member_limit > 0),
    starts_at        TIMESTAMPTZ NOT NULL,
    ends_at          TIMESTAMPTZ NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    returned         INTEGER NOT NULL DEFAULT 0
);
--bun:split
CREATE INDEX coupon_drops_show ON coupon_drops (show_id, starts_at);

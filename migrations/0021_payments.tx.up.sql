-- Orders, their lines and the idempotency keys that created them.
CREATE TABLE orders (
    id                   TEXT PRIMARY KEY,
    member_id            TEXT NOT NULL,
    out_trade_no         TEXT NOT NULL UNIQUE,
    status               TEXT NOT NULL,
    items_total          BIGINT NOT NULL,
    discount             BIGINT NOT NULL DEFAULT 0,
    total                BIGINT NOT NULL CHECK (total > 0),
    refunded             BIGINT NOT NULL DEFAULT 0,
    show_id              TEXT NOT NULL DEFAULT '',
    host_id              TEXT NOT NULL DEFAULT '',
    inviter_id           TEXT NOT NULL DEFAULT '',
    flash_sale_id        TEXT NOT NULL DEFAULT '',
    coupon_id            TEXT NOT NULL DEFAULT '',
    address              TEXT NOT NULL,
    description          TEXT NOT NULL,
    payer_openid         TEXT NOT NULL DEFAULT '',
    prepay_id            TEXT NOT NULL DEFAULT '',
    transaction_id       TEXT NOT NULL DEFAULT '',
    expires_at           TIMESTAMPTZ NOT NULL,
    paid_at              TIMESTAMPTZ,
    closed_at            TIMESTAMPTZ,
    shipped_at           TIMESTAMPTZ,
    carrier              TEXT NOT NULL DEFAULT '',
    tracking_no          TEXT NOT NULL DEFAULT '',
    shipping_uploaded_at TIMESTAMPTZ,
    shipping_error       TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    CHECK (refunded >= 0 AND refunded <= total)
);
--bun:split
CREATE INDEX orders_member ON orders (member_id, created_at);
--bun:split
CREATE INDEX orders_status ON orders (status, created_at);
--bun:split
CREATE TABLE order_items (
    order_id   TEXT NOT NULL,
    line       INTEGER NOT NULL,
    sku_id     TEXT NOT NULL,
    product_id TEXT NOT NULL,
    title      TEXT NOT NULL,
    sku_title  TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL,
    total      BIGINT NOT NULL,
    PRIMARY KEY (order_id, line)
);
--bun:split
CREATE TABLE idempotency_keys (
    member_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    response     TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (member_id, key)
);
--bun:split
-- Every verified WeChat Pay notification by its id: a second delivery of
-- one is a replay and changes nothing.
CREATE TABLE payment_notifications (
    id          TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    reference   TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE refunds (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL,
    member_id        TEXT NOT NULL,
    out_refund_no    TEXT NOT NULL UNIQUE,
    amount           BIGINT NOT NULL CHECK (amount > 0),
    reason           TEXT NOT NULL,
    status           TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    decided_by       TEXT NOT NULL DEFAULT '',
    decision_note    TEXT NOT NULL DEFAULT '',
    wechat_refund_id TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    decided_at       TIMESTAMPTZ,
    settled_at       TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX refunds_order ON refunds (order_id);
--bun:split
CREATE INDEX refunds_status ON refunds (status, updated_at);
--bun:split
-- The commission ledger: an accrual per beneficiary of a paid order and a
-- reversal per refund, pending until available_at, then settled.
CREATE TABLE commission_entries (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL,
    refund_id        TEXT NOT NULL DEFAULT '',
    beneficiary_kind TEXT NOT NULL,
    beneficiary_id   TEXT NOT NULL,
    show_id          TEXT NOT NULL DEFAULT '',
    basis            BIGINT NOT NULL,
    amount           BIGINT NOT NULL,
    status           TEXT NOT NULL,
    available_at     TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    settled_at       TIMESTAMPTZ,
    UNIQUE (order_id, refund_id, beneficiary_kind)
);
--bun:split
CREATE INDEX commission_entries_status ON commission_entries (status, available_at);
--bun:split
CREATE INDEX commission_entries_beneficiary ON commission_entries (beneficiary_id, created_at);

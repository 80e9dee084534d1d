-- Catalog: products and their SKUs with stock, show lineups with live
-- prices, flash sales and the claims won in them.
CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    images      TEXT NOT NULL DEFAULT '[]',
    published   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE skus (
    id         TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    title      TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    list_price BIGINT NOT NULL CHECK (list_price > 0),
    stock      INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX skus_product ON skus (product_id);
--bun:split
-- A show's lineup (货盘): the SKUs it sells and their live-only prices.
CREATE TABLE lineup_items (
    show_id    TEXT NOT NULL,
    sku_id     TEXT NOT NULL,
    product_id TEXT NOT NULL,
    live_price BIGINT NOT NULL CHECK (live_price > 0),
    position   INTEGER NOT NULL,
    PRIMARY KEY (show_id, sku_id)
);
--bun:split
-- A flash sale allots quantity units of a SKU's stock; unsold units go back
-- to the SKU when the sale is finished.
CREATE TABLE flash_sales (
    id               TEXT PRIMARY KEY,
    show_id          TEXT NOT NULL,
    sku_id           TEXT NOT NULL,
    product_id       TEXT NOT NULL,
    price            BIGINT NOT NULL CHECK (price > 0),
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    per_member_limit INTEGER NOT NULL CHECK (per_member_limit > 0),
    starts_at        TIMESTAMPTZ NOT NULL,
    ends_at          TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    returned         INTEGER NOT NULL DEFAULT 0
);
--bun:split
CREATE INDEX flash_sales_show ON flash_sales (show_id, starts_at);
--bun:split
-- One row per won claim; its id is also the id of the order it became.
CREATE TABLE flash_sale_claims (
    id            TEXT PRIMARY KEY,
    flash_sale_id TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    created_at    TIMESTAMPTZ NOT NULL,
    released_at   TIMESTAMPTZ
);
--bun:split
CREATE INDEX flash_sale_claims_sale ON flash_sale_claims (flash_sale_id, member_id);

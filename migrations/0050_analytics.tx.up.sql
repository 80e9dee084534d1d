-- Show analytics. product_clicks records a shopper opening a product card
-- of a show (the funnel's second step); bucket is the click's time in
-- five-second steps, so a member tapping the same card again and again
-- counts once per five seconds. show_samples keeps a live show's running
-- like total every few seconds: likes are summed in Redis and only their
-- total is stored on the show, so the samples are what likes per minute are
-- computed from.
CREATE TABLE product_clicks (
    id         TEXT PRIMARY KEY,
    show_id    TEXT NOT NULL,
    product_id TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    bucket     BIGINT NOT NULL,
    clicked_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX product_clicks_once ON product_clicks (show_id, product_id, member_id, bucket);
--bun:split
CREATE INDEX product_clicks_show ON product_clicks (show_id, clicked_at);
--bun:split
CREATE TABLE show_samples (
    show_id TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL,
    likes   BIGINT NOT NULL,
    viewers INTEGER NOT NULL,
    PRIMARY KEY (show_id, at)
);
--bun:split
-- Orders and reservations read by show (the report, the control room).
CREATE INDEX orders_show ON orders (show_id, id) WHERE show_id <> '';

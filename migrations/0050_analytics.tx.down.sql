DROP INDEX IF EXISTS orders_show;
--bun:split
DROP TABLE IF EXISTS show_samples;
--bun:split
DROP TABLE IF EXISTS product_clicks;

DROP TABLE flash_sale_claims;
--bun:split
DROP TABLE flash_sales;
--bun:split
DROP TABLE lineup_items;
--bun:split
DROP TABLE skus;
--bun:split
DROP TABLE products;

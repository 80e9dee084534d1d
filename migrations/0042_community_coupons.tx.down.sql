DROP TABLE coupon_drops;
--bun:split
DROP TABLE coupons;
--bun:split
DROP TABLE coupon_templates;

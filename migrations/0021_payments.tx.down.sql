DROP TABLE commission_entries;
--bun:split
DROP TABLE refunds;
--bun:split
DROP TABLE payment_notifications;
--bun:split
DROP TABLE idempotency_keys;
--bun:split
DROP TABLE order_items;
--bun:split
DROP TABLE orders;

ALTER TABLE staff_accounts DROP COLUMN disabled_at;

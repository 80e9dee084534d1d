-- A disabled account cannot sign in and has no sessions; it stays for the
-- audit log, and an owner or admin may enable it again.
ALTER TABLE staff_accounts ADD COLUMN disabled_at TIMESTAMPTZ;

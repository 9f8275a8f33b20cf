-- How many requests a key's last check admitted. A check may count several requests of one
-- key at once (those a replica received while the key's previous check was running), and
-- RETURNING sees only the row's new values: the count is how each request learns its place.
ALTER TABLE rate_limits ADD COLUMN admitted BIGINT NOT NULL DEFAULT 0;

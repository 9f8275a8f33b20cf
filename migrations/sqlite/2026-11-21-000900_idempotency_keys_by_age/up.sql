-- Stored replies are deleted once their 24 hours are over (`idempotency_prune`): by age,
-- oldest first, without reading the whole table each time.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Webhooks: a bot's subscriptions, the deliveries fanned out to them from the `events`
-- outbox, and every attempt of each delivery.

-- When an event was fanned out into deliveries (NULL: not yet). Events written before
-- webhooks existed are marked done: no webhook could want them.
ALTER TABLE events ADD COLUMN fanned_out_at TIMESTAMP;
UPDATE events SET fanned_out_at = created_at;
CREATE INDEX events_fan_out ON events (fanned_out_at, id);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- JSON array of event types.
    events TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    description TEXT,
    disabled_reason TEXT,
    consecutive_failures BIGINT NOT NULL,
    -- The Standard Webhooks secret (`whsec_...`). Kept as is: signing needs the key itself.
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX webhooks_bot_url ON webhooks (bot_id, url);
CREATE INDEX webhooks_account_id ON webhooks (account_id);

-- One event for one webhook; its id is the `webhook-id` header, the same on every attempt.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The event fanned out (NULL for a `webhook.test` ping).
    event_id TEXT,
    event_type TEXT NOT NULL,
    -- The body sent, byte for byte on every attempt.
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt_count BIGINT NOT NULL,
    -- Attempts left in this round (9 for an event, 1 for a test; reset by a redelivery).
    attempts_left BIGINT NOT NULL,
    next_attempt_at TIMESTAMP,
    -- The lease of the replica making the next attempt: no other claims it before it ends.
    locked_by TEXT,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
-- An event is fanned out to a webhook once, whichever replica does it.
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status_code BIGINT,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    response_snippet TEXT,
    -- Which server process made it (for operators, and the replicas test).
    replica TEXT NOT NULL
);
-- Attempt N of a delivery is recorded once.
CREATE UNIQUE INDEX webhook_attempts_delivery_attempt ON webhook_attempts (delivery_id, attempt);

-- Tenancy: every resource belongs to an account. Ids are UUIDs as text and times are UTC
-- TIMESTAMPs in both backends, so that one diesel schema serves SQLite and PostgreSQL.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    -- Messages per calendar month (UTC); NULL means the server's default.
    monthly_message_quota BIGINT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Lower-cased; one account per address.
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    -- argon2id, PHC string format.
    password_hash TEXT NOT NULL,
    email_verified_at TIMESTAMP,
    -- Base32 TOTP secret, set by totp setup; enabled once a first code is verified.
    totp_secret TEXT,
    totp_enabled_at TIMESTAMP,
    -- The last accepted TOTP time step: a code is never accepted twice.
    totp_last_step BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_account_id ON users (account_id);

-- Email verification and password reset codes: stored hashed, single use, with an expiry.
CREATE TABLE one_time_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX one_time_codes_user_purpose ON one_time_codes (user_id, purpose);

CREATE TABLE bots (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    -- The contract's BotSettings as JSON.
    settings TEXT NOT NULL,
    -- Public: embedded in web pages; admits visitors to this bot's visitor operations only.
    widget_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX bots_widget_token ON bots (widget_token);
CREATE INDEX bots_account_id ON bots (account_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- NULL: the whole account; otherwise the one bot the key may act on.
    bot_id TEXT REFERENCES bots (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The public part of the key (`bw_<prefix>`), also its Basic client id.
    key_prefix TEXT NOT NULL,
    -- SHA-256 of the whole key: keys are long and random, so a fast hash is enough.
    secret_hash TEXT NOT NULL,
    rate_limit_standard BIGINT,
    rate_limit_chat BIGINT,
    rate_limit_auth BIGINT,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX api_keys_key_prefix ON api_keys (key_prefix);
CREATE INDEX api_keys_account_id ON api_keys (account_id);

-- GCRA state shared by every replica on one database: the theoretical arrival time, in
-- milliseconds since the Unix epoch, of each rate-limit key (credential and class).
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL,
    tat_ms BIGINT NOT NULL
);

-- Messages per account and calendar month (UTC, `YYYY-MM`), for the monthly quota.
CREATE TABLE usage_counters (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    messages BIGINT NOT NULL,
    -- When the 80% `quota.warning` was recorded for this month, if it was.
    warned_at TIMESTAMP,
    PRIMARY KEY (account_id, month)
);

-- The durable outbox of events, written in the same transaction as their cause; the
-- webhooks deliver from it.
CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    bot_id TEXT,
    event_type TEXT NOT NULL,
    -- The event's JSON payload, as receivers get it.
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_account_created ON events (account_id, created_at);

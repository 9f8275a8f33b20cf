-- Server-wide settings that must survive restarts and be shared by every replica
-- (for example the JWT signing secret generated on first start). Times are UTC.
CREATE TABLE server_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

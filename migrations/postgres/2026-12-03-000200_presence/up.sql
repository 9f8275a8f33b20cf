-- A user's presence: the status they chose (or a team admin set for them) and their last
-- heartbeat. Held in the database, so every replica answers alike; a user without a row is
-- `online` by choice and has never sent a heartbeat. A heartbeat under 15 s after the recorded
-- one writes nothing (services::presence).
CREATE TABLE presence (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    last_seen_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

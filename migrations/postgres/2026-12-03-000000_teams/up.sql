-- Teams bring people of other accounts to a bot: a bot shared with a team can be worked by
-- its members (never its credentials). Who may see a bot is decided by one store query
-- (`store::teams::bot_access_get`) over these tables.
CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- `role`: owner, admin or agent. A team always keeps at least one owner (services::teams).
CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id ON team_members (user_id);

-- An invitation's token is stored only as its SHA-256. One pending invitation per address and
-- team: a new one replaces it (the unique index holds while `accepted_at` is null).
CREATE TABLE team_invites (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX team_invites_token_hash ON team_invites (token_hash);
CREATE UNIQUE INDEX team_invites_pending ON team_invites (team_id, email) WHERE accepted_at IS NULL;

CREATE TABLE team_bots (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    shared_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, bot_id)
);
-- The access query reads a bot's teams.
CREATE INDEX team_bots_bot_id ON team_bots (bot_id);

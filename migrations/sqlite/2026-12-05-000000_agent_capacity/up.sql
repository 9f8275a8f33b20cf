-- Limits of open or pending conversations that auto-assignment gives one agent, counted over
-- every bot: a team's (for each of its members) and a member's own (replacing the team's).
ALTER TABLE teams ADD COLUMN agent_capacity BIGINT;
ALTER TABLE team_members ADD COLUMN agent_capacity BIGINT;
-- An agent's load over every bot, as those limits count it.
CREATE INDEX conversations_assignee_load ON conversations (assignee_id, status);

DROP INDEX conversations_assignee_load;
ALTER TABLE team_members DROP COLUMN agent_capacity;
ALTER TABLE teams DROP COLUMN agent_capacity;

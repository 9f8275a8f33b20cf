DROP INDEX conversations_started;
ALTER TABLE messages DROP COLUMN answered;

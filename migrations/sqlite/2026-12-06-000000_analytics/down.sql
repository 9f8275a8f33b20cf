ALTER TABLE messages DROP COLUMN answered;

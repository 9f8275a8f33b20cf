DROP TABLE idempotency_keys;
DROP TABLE feedback;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE knowledge_entries;
DROP TABLE documents;
ALTER TABLE bots DROP COLUMN knowledge_revision;

CREATE INDEX messages_conversation_id ON messages (conversation_id);
DROP INDEX messages_conversation_order;

-- A conversation's messages are read in id order (ids are UUIDv7: time order). With the id in
-- the index, a page is a range of it; with the conversation alone, every page was sorted.
CREATE INDEX messages_conversation_order ON messages (conversation_id, id);
DROP INDEX messages_conversation_id;

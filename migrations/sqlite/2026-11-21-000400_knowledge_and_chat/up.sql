-- Bumped on every knowledge-base change: replicas rebuild their search index when it moves,
-- so the database stays the one source of truth and every replica answers alike.
ALTER TABLE bots ADD COLUMN knowledge_revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    category TEXT,
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    chunk_count BIGINT NOT NULL,
    faq_count BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX documents_bot_id ON documents (bot_id);

-- What the engine retrieves from: FAQ pairs (`question` set) and passages of documents.
CREATE TABLE knowledge_entries (
    id TEXT PRIMARY KEY NOT NULL,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    question TEXT,
    content TEXT NOT NULL
);
CREATE INDEX knowledge_entries_bot_id ON knowledge_entries (bot_id);
CREATE INDEX knowledge_entries_document_id ON knowledge_entries (document_id);

-- A session is the caller's `session_id` within a bot; its messages live in conversations.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    -- The end user's own id, as the caller gave it.
    user_id TEXT,
    contact_id TEXT,
    -- Started with the bot's widget token: only such sessions are visible to visitors.
    by_visitor BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    handed_off BOOLEAN NOT NULL,
    assignee_id TEXT,
    -- JSON array of strings.
    tags TEXT NOT NULL,
    message_count BIGINT NOT NULL,
    last_message_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- One conversation per session of a bot: a resolved or closed one reopens on a new message.
CREATE UNIQUE INDEX conversations_bot_session ON conversations (bot_id, session_id);

CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    language TEXT,
    -- JSON arrays of the contract's Source and SuggestedAction.
    sources TEXT NOT NULL,
    suggested_actions TEXT NOT NULL,
    engine TEXT,
    agent_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_conversation_id ON messages (conversation_id);

CREATE TABLE feedback (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id TEXT,
    rating TEXT,
    csat BIGINT,
    comment TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX feedback_conversation_id ON feedback (conversation_id);

-- Retry-safe sends: the stored reply of a request, by credential and Idempotency-Key.
CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

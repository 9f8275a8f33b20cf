-- The inbox: what human agents do in conversations.
-- queued_at: when the conversation last began to wait for a human (its handoff; the queue's
-- order, kept when it goes back to the queue); awaiting_agent_since: when its assignee got it,
-- until an agent replies (NULL then: a reply is what the bot's reassign timer waits for).
ALTER TABLE conversations ADD COLUMN queued_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN awaiting_agent_since TIMESTAMP;
-- The inbox list (most recent activity first), by bot and by the filters that narrow most.
CREATE INDEX conversations_inbox ON conversations (bot_id, last_message_at, id);
CREATE INDEX conversations_inbox_status ON conversations (bot_id, status, last_message_at, id);
CREATE INDEX conversations_inbox_assignee ON conversations (bot_id, assignee_id, last_message_at, id);
-- The queue: a bot's conversations humans have, without an assignee, longest waiting first.
CREATE INDEX conversations_queue ON conversations (bot_id, handed_off, assignee_id, queued_at);

-- Each handoff, and the first agent reply after it (the first-response time analytics read).
CREATE TABLE handoffs (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP
);
CREATE INDEX handoffs_bot ON handoffs (bot_id, requested_at);
CREATE INDEX handoffs_conversation ON handoffs (conversation_id, requested_at);

-- Internal notes: agents only. mentions: a JSON array of user ids.
CREATE TABLE notes (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id TEXT NOT NULL,
    content TEXT NOT NULL,
    mentions TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notes_conversation ON notes (conversation_id, id);

CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY NOT NULL,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    shortcut TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX canned_responses_shortcut ON canned_responses (bot_id, shortcut);

-- A user's saved inbox views. filters: the JSON of InboxViewFilters.
CREATE TABLE inbox_views (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    bot_id TEXT REFERENCES bots (id) ON DELETE CASCADE,
    filters TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX inbox_views_name ON inbox_views (user_id, name);

-- A conversation's summary, valid while the conversation has message_count messages.
CREATE TABLE conversation_summaries (
    conversation_id TEXT PRIMARY KEY NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_count BIGINT NOT NULL,
    engine TEXT NOT NULL,
    summary TEXT NOT NULL,
    generated_at TIMESTAMP NOT NULL
);

-- When auto-assignment last gave an agent a conversation of a bot (the least recent goes next).
CREATE TABLE agent_assignments (
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_assigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (bot_id, user_id)
);

-- The live streams' log, read by the session and inbox streams after a client's cursor (seq).
-- Written in the transaction of the change; on PostgreSQL under one transaction-scoped advisory
-- lock, so that seq order is commit order and a cursor never skips a later-committed event.
-- visitor: the session's stream shows it; agents: every inbox stream of the bot; user_id: that
-- user's inbox stream only (a mention, an assignment).
CREATE TABLE live_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    bot_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    visitor BOOLEAN NOT NULL,
    agents BOOLEAN NOT NULL,
    user_id TEXT,
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX live_events_conversation ON live_events (conversation_id, seq);
CREATE INDEX live_events_bot ON live_events (bot_id, seq);
CREATE INDEX live_events_created ON live_events (created_at);

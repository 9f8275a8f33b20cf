-- A user's notifications, each written in the transaction of what caused it. `in_app`: listed
-- by notification_list (false when the user switched in-app off but wants the email);
-- `email_state`: null (no email), 'pending', 'sending' (claimed by one replica's mail round:
-- never sent twice), 'sent' or 'failed'.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    data TEXT NOT NULL,
    in_app BOOLEAN NOT NULL,
    email_state TEXT,
    read_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
-- The list, newest first, and the unread count: one range of an index each.
CREATE INDEX notifications_user_id ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_email_pending ON notifications (created_at) WHERE email_state = 'pending';

-- Absent: everything on. `types`: a JSON object of the per-type switches.
CREATE TABLE notification_preferences (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email BOOLEAN NOT NULL,
    in_app BOOLEAN NOT NULL,
    types TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

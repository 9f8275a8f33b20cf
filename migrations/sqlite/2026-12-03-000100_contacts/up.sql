-- The people behind chat sessions, per account. `search` holds name, email and phone in lower
-- case, so that `q` matches case-insensitively alike on both databases; `tags` and
-- `attributes` are JSON (an array of strings, an object).
CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT,
    email TEXT,
    phone TEXT,
    external_id TEXT,
    tags TEXT NOT NULL,
    attributes TEXT NOT NULL,
    search TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_account_id ON contacts (account_id, id);
-- Unique per account; several contacts may have none (NULLs are distinct in both databases).
CREATE UNIQUE INDEX contacts_account_email ON contacts (account_id, email);
CREATE UNIQUE INDEX contacts_account_external_id ON contacts (account_id, external_id);

-- A contact's sessions are counted and unlinked through this.
CREATE INDEX conversations_contact_id ON conversations (contact_id);

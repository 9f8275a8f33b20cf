-- On a user's message: whether the offline engine had a confident answer to it (false: it
-- replied with its fallback); null on other messages and on those a human had (no bot reply).
-- The analytics' knowledge gaps are the false ones.
ALTER TABLE messages ADD COLUMN answered BOOLEAN;

-- Rate-limit state is checked on every request; unlogged, a check costs a fifth of a logged
-- write. A crash empties the table, which only gives every credential a fresh burst.
ALTER TABLE rate_limits SET UNLOGGED;

ALTER TABLE usage_counters DROP COLUMN exhausted_at;

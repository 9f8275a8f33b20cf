-- When the 100% `quota.warning` was recorded for the month (80% is `warned_at`): each
-- threshold is announced once per period.
ALTER TABLE usage_counters ADD COLUMN exhausted_at TIMESTAMP;

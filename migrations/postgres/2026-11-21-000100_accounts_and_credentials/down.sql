DROP TABLE events;
DROP TABLE usage_counters;
DROP TABLE rate_limits;
DROP TABLE api_keys;
DROP TABLE bots;
DROP TABLE one_time_codes;
DROP TABLE users;
DROP TABLE accounts;

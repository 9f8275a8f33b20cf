-- PostgreSQL only (SQLite keeps rate limits in memory); kept so both backends share
-- migration names.
SELECT 1;

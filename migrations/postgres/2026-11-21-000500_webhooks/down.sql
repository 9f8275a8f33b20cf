DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP INDEX events_fan_out;
ALTER TABLE events DROP COLUMN fanned_out_at;

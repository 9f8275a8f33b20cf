CREATE INDEX events_fan_out ON events (fanned_out_at, id);
DROP INDEX events_to_fan_out;

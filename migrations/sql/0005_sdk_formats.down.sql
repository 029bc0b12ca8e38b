DROP TABLE IF EXISTS sdk_system_events;

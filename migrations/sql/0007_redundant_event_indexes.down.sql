CREATE INDEX IF NOT EXISTS app_events_event_name_idx ON app_events (event_name);
CREATE INDEX IF NOT EXISTS app_events_user_id_idx ON app_events (user_id);

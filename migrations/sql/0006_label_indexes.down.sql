CREATE INDEX IF NOT EXISTS app_events_response_id_idx
    ON app_events ((properties ->> 'response_id'))
    WHERE properties ? 'response_id';
DROP INDEX IF EXISTS app_events_name_occurred_idx;
DROP INDEX IF EXISTS app_events_name_response_idx;

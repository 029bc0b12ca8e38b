DROP INDEX IF EXISTS app_events_name_occurred_idx;
DROP INDEX IF EXISTS app_events_name_response_idx;

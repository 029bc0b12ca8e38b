DROP SCHEMA IF EXISTS analytics CASCADE;
DROP FUNCTION IF EXISTS cleanup_old_responses(integer);
DROP FUNCTION IF EXISTS cleanup_old_events(integer);
DROP TABLE IF EXISTS retention_runs;
DROP INDEX IF EXISTS app_events_response_id_idx;

-- Each index on app_events is written by every accepted event. Two are prefixes of others:
-- (event_name) of (event_name, occurred_at) and (event_name, response_id); (user_id) of the
-- keyset index (user_id, occurred_at DESC, id DESC). A btree serves lookups on its leading
-- column, so the planner loses nothing and each insert updates two indexes fewer.
DROP INDEX IF EXISTS app_events_event_name_idx;
DROP INDEX IF EXISTS app_events_user_id_idx;

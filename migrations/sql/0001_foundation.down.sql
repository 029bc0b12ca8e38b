DROP FUNCTION IF EXISTS has_converted_from_trial(text);
DROP FUNCTION IF EXISTS has_reached_aha_moment(text);
DROP FUNCTION IF EXISTS get_user_event_count(text, text);
DROP TABLE IF EXISTS password_resets;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS responses;
DROP TABLE IF EXISTS prompts;
DROP TABLE IF EXISTS quarantined_events;
DROP TABLE IF EXISTS app_events;

-- Whether an event's user_id was proven by the sender: true when it came from the user's own
-- bearer token (/v1/ingest), false when it was only claimed in the body of a request signed with
-- a public SDK key (PostHog distinct_id, Segment userId) or no user was named. Events stored
-- before this column existed keep NULL: nobody can tell any more. Adding a nullable column with
-- no default rewrites nothing, and on a partitioned app_events it reaches every partition.
ALTER TABLE app_events ADD COLUMN IF NOT EXISTS verified boolean;
COMMENT ON COLUMN app_events.verified IS
    'true: user_id from the sender''s own bearer token; false: claimed through a public SDK key '
    'or no user; NULL: stored before verification was recorded.';

DROP INDEX IF EXISTS app_events_user_keyset_idx;

DROP POLICY IF EXISTS service_only ON password_resets;
DROP POLICY IF EXISTS service_only ON users;
ALTER TABLE password_resets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE password_resets DISABLE ROW LEVEL SECURITY;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS service_all ON responses;
DROP POLICY IF EXISTS service_all ON prompts;
DROP POLICY IF EXISTS service_all ON app_events;
DROP POLICY IF EXISTS own_rows ON responses;
DROP POLICY IF EXISTS own_rows ON prompts;
DROP POLICY IF EXISTS own_rows ON app_events;
ALTER TABLE responses  DISABLE ROW LEVEL SECURITY;
ALTER TABLE prompts    DISABLE ROW LEVEL SECURITY;
ALTER TABLE app_events DISABLE ROW LEVEL SECURITY;

REVOKE ALL ON app_events, prompts, responses, users, password_resets FROM everreach_service;
REVOKE ALL ON app_events, prompts, responses FROM everreach_reader;

-- The roles are cluster-wide: while another database still grants them privileges they stay.
DO $$
BEGIN
    DROP ROLE IF EXISTS everreach_reader;
EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;
END
$$;

DO $$
BEGIN
    DROP ROLE IF EXISTS everreach_service;
EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;
END
$$;

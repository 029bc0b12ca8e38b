-- Row-level security for per-user reads, and a service role for accounts and reset tokens.
--
-- everreach_reader : what the API becomes (SET LOCAL ROLE) to read one user's own rows; the
--                    user is the transaction-local setting `everreach.user_id`.
-- everreach_service: what the API becomes to manage accounts and password-reset tokens.
--
-- Roles are cluster-wide and several databases (test sessions) share a server, so they are
-- created only when missing; grants and policies are per database. The migrating login is made a
-- member of both so that a non-superuser deployment can SET ROLE to them (a superuser can already).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'everreach_reader') THEN
        CREATE ROLE everreach_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'everreach_service') THEN
        CREATE ROLE everreach_service NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database's migration created them at the same moment
END
$$;

DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'everreach_reader', 'MEMBER') THEN
        EXECUTE format('GRANT everreach_reader TO %I', current_user);
    END IF;
    IF NOT pg_has_role(current_user, 'everreach_service', 'MEMBER') THEN
        EXECUTE format('GRANT everreach_service TO %I', current_user);
    END IF;
END
$$;

-- A user's own rows: only SELECT, only through the policies below.
GRANT SELECT ON app_events, prompts, responses TO everreach_reader;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON app_events, prompts, responses, users, password_resets TO everreach_service;

-- Event tables: RLS constrains every role but the owner (the collector writes as the owner).
ALTER TABLE app_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE prompts    ENABLE ROW LEVEL SECURITY;
ALTER TABLE responses  ENABLE ROW LEVEL SECURITY;

CREATE POLICY own_rows ON app_events FOR SELECT TO everreach_reader
    USING (user_id = nullif(current_setting('everreach.user_id', true), ''));
CREATE POLICY own_rows ON prompts FOR SELECT TO everreach_reader
    USING (user_id = nullif(current_setting('everreach.user_id', true), ''));
CREATE POLICY own_rows ON responses FOR SELECT TO everreach_reader
    USING (user_id = nullif(current_setting('everreach.user_id', true), ''));

CREATE POLICY service_all ON app_events TO everreach_service USING (true) WITH CHECK (true);
CREATE POLICY service_all ON prompts    TO everreach_service USING (true) WITH CHECK (true);
CREATE POLICY service_all ON responses  TO everreach_service USING (true) WITH CHECK (true);

-- Accounts and reset tokens: the service role only. FORCE makes the policies bind the table
-- owner too (a non-superuser owner reaches them through its everreach_service membership).
ALTER TABLE users           ENABLE ROW LEVEL SECURITY;
ALTER TABLE users           FORCE ROW LEVEL SECURITY;
ALTER TABLE password_resets ENABLE ROW LEVEL SECURITY;
ALTER TABLE password_resets FORCE ROW LEVEL SECURITY;

CREATE POLICY service_only ON users           TO everreach_service USING (true) WITH CHECK (true);
CREATE POLICY service_only ON password_resets TO everreach_service USING (true) WITH CHECK (true);

REVOKE ALL ON users, password_resets FROM PUBLIC;

-- GET /v1/me/events pages newest first by (occurred_at, id) within one user.
CREATE INDEX app_events_user_keyset_idx ON app_events (user_id, occurred_at DESC, id DESC);

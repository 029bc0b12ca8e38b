-- Foundation schema: the event log, its quarantine, the prompt/response store, accounts.
-- Identifiers of people are text: user ids come from our JWTs (uuids), anonymous ids and
-- SDK distinct_ids are whatever the client generated.

CREATE TABLE app_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL,
    event_name   text        NOT NULL,
    user_id      text,
    anonymous_id text,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    context      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    properties   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT app_events_event_id_key UNIQUE (event_id)
);
COMMENT ON TABLE app_events IS 'Accepted product events, one row per event_id (dedup key).';
CREATE INDEX app_events_event_name_idx   ON app_events (event_name);
CREATE INDEX app_events_user_id_idx      ON app_events (user_id);
CREATE INDEX app_events_occurred_at_idx  ON app_events (occurred_at);
CREATE INDEX app_events_anonymous_id_idx ON app_events (anonymous_id);

CREATE TABLE quarantined_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL,
    event_name   text,
    user_id      text,
    anonymous_id text,
    raw          jsonb       NOT NULL,
    reasons      jsonb       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT quarantined_events_event_id_key UNIQUE (event_id)
);
COMMENT ON TABLE quarantined_events IS
    'Events that failed the tracking plan: the event as received (PII scrubbed) and why.';
CREATE INDEX quarantined_events_received_at_idx ON quarantined_events (received_at);
CREATE INDEX quarantined_events_event_name_idx  ON quarantined_events (event_name);

-- Which anonymous (device) ids belong to which user: the Dagster models stitch a person's
-- pre-auth events to the account they became. Filled by the collector (an authenticated event
-- that carries an anonymous_id; signup_completed's user_id property) and by SDK identify calls.
CREATE TABLE identity_links (
    anonymous_id  text        NOT NULL,
    user_id       text        NOT NULL,
    source        text        NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (anonymous_id, user_id)
);
CREATE INDEX identity_links_user_id_idx ON identity_links (user_id);

CREATE TABLE prompts (
    prompt_id   uuid PRIMARY KEY,
    user_id     text,
    session_id  text,
    contact_id  text,
    text        text        NOT NULL,
    model       text,
    temperature double precision,
    tags        text[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);
CREATE INDEX prompts_user_id_idx    ON prompts (user_id);
CREATE INDEX prompts_contact_id_idx ON prompts (contact_id);
CREATE INDEX prompts_created_at_idx ON prompts (created_at);

-- No foreign key to prompts: a response may arrive in an earlier batch than its prompt.
CREATE TABLE responses (
    response_id   uuid PRIMARY KEY,
    prompt_id     uuid        NOT NULL,
    user_id       text,
    model         text,
    text          text        NOT NULL,
    tokens_out    bigint,
    finish_reason text,
    cost_usd      numeric,
    latency_ms    bigint,
    created_at    timestamptz NOT NULL
);
CREATE INDEX responses_prompt_id_idx  ON responses (prompt_id);
CREATE INDEX responses_user_id_idx    ON responses (user_id);
CREATE INDEX responses_created_at_idx ON responses (created_at);

CREATE TABLE users (
    user_id             uuid PRIMARY KEY,
    email               text        NOT NULL,
    password_hash       text        NOT NULL,
    role                text        NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Only the SHA-256 of a reset token is stored; the token itself exists only in the email.
CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_user_id_idx    ON password_resets (user_id);
CREATE INDEX password_resets_expires_at_idx ON password_resets (expires_at);

CREATE FUNCTION get_user_event_count(p_user_id text, p_event_name text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT count(*)
    FROM app_events
    WHERE user_id = p_user_id
      AND (p_event_name IS NULL OR event_name = p_event_name)
$$;
COMMENT ON FUNCTION get_user_event_count(text, text) IS
    'Events of a user, optionally of one event name.';

CREATE FUNCTION has_reached_aha_moment(p_user_id text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (
        SELECT 1 FROM app_events WHERE user_id = p_user_id AND event_name = 'aha_reached'
    )
$$;
COMMENT ON FUNCTION has_reached_aha_moment(text) IS 'Whether the user emitted aha_reached.';

CREATE FUNCTION has_converted_from_trial(p_user_id text)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (
        SELECT 1
        FROM app_events AS trial
        JOIN app_events AS purchase
          ON purchase.user_id = trial.user_id
         AND purchase.event_name = 'purchase_succeeded'
         AND purchase.occurred_at >= trial.occurred_at
        WHERE trial.user_id = p_user_id AND trial.event_name = 'trial_started'
    )
$$;
COMMENT ON FUNCTION has_converted_from_trial(text) IS
    'Whether the user purchased at or after starting a trial.';

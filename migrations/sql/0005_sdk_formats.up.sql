-- SDK system events: what PostHog and Segment SDKs send besides product events ($pageview,
-- $screen, $identify, $create_alias, $feature_flag_called, $set..., Segment identify, alias,
-- page, screen, group). They are kept, deduplicated by event_id like app_events, but in their
-- own table: the tracking plan does not govern them, so they must neither fill the quarantine
-- as unknown events nor reach the plan-based models and ML datasets that read app_events.
CREATE TABLE sdk_system_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL,
    source       text        NOT NULL CHECK (source IN ('posthog', 'segment')),
    event_name   text        NOT NULL,
    user_id      text,
    anonymous_id text,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    context      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    properties   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT sdk_system_events_event_id_key UNIQUE (event_id)
);
COMMENT ON TABLE sdk_system_events IS
    'PostHog/Segment SDK system events (not in the tracking plan), one row per event_id.';
CREATE INDEX sdk_system_events_event_name_idx  ON sdk_system_events (event_name);
CREATE INDEX sdk_system_events_user_id_idx     ON sdk_system_events (user_id);
CREATE INDEX sdk_system_events_occurred_at_idx ON sdk_system_events (occurred_at);

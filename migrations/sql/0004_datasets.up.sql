-- Datasets and retention.
--
-- The SQL models in dbt_like_sql/ materialize into the `analytics` schema (views and tables the
-- Dagster code location owns); the label metrics table lives there too. Retention is two SQL
-- functions the scheduled Dagster jobs call; each call records what it deleted in
-- retention_runs, so "how much did last week's cleanup remove" is a query, not a log search.

CREATE SCHEMA IF NOT EXISTS analytics;

-- Feedback events (copy, like, dislike, render) are joined to responses by this property.
CREATE INDEX IF NOT EXISTS app_events_response_id_idx
    ON app_events ((properties ->> 'response_id'))
    WHERE properties ? 'response_id';

CREATE TABLE retention_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function     text        NOT NULL,
    keep_days    integer     NOT NULL,
    cutoff       timestamptz NOT NULL,
    table_name   text        NOT NULL,
    deleted_rows bigint      NOT NULL,
    ran_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE retention_runs IS 'One row per table touched by each retention function call.';
CREATE INDEX retention_runs_ran_at_idx ON retention_runs (ran_at);

-- Events (and quarantined events) older than `days` days.
CREATE FUNCTION cleanup_old_events(days integer DEFAULT 90)
RETURNS TABLE (table_name text, deleted_rows bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    cutoff timestamptz;
    n_events bigint;
    n_quarantined bigint;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'cleanup_old_events: days must be >= 1, got %', days;
    END IF;
    cutoff := now() - make_interval(days => days);
    DELETE FROM app_events WHERE occurred_at < cutoff;
    GET DIAGNOSTICS n_events = ROW_COUNT;
    DELETE FROM quarantined_events WHERE received_at < cutoff;
    GET DIAGNOSTICS n_quarantined = ROW_COUNT;
    INSERT INTO retention_runs (function, keep_days, cutoff, table_name, deleted_rows) VALUES
        ('cleanup_old_events', days, cutoff, 'app_events', n_events),
        ('cleanup_old_events', days, cutoff, 'quarantined_events', n_quarantined);
    RETURN QUERY VALUES ('app_events'::text, n_events), ('quarantined_events'::text, n_quarantined);
END
$$;
COMMENT ON FUNCTION cleanup_old_events(integer) IS
    'Delete events older than `days` days (default 90); logs the counts in retention_runs.';

-- Responses older than `days` days, then prompts older than that which no response refers to.
CREATE FUNCTION cleanup_old_responses(days integer DEFAULT 180)
RETURNS TABLE (table_name text, deleted_rows bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    cutoff timestamptz;
    n_responses bigint;
    n_prompts bigint;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'cleanup_old_responses: days must be >= 1, got %', days;
    END IF;
    cutoff := now() - make_interval(days => days);
    DELETE FROM responses WHERE created_at < cutoff;
    GET DIAGNOSTICS n_responses = ROW_COUNT;
    DELETE FROM prompts AS p
    WHERE p.created_at < cutoff
      AND NOT EXISTS (SELECT 1 FROM responses AS r WHERE r.prompt_id = p.prompt_id);
    GET DIAGNOSTICS n_prompts = ROW_COUNT;
    INSERT INTO retention_runs (function, keep_days, cutoff, table_name, deleted_rows) VALUES
        ('cleanup_old_responses', days, cutoff, 'responses', n_responses),
        ('cleanup_old_responses', days, cutoff, 'prompts', n_prompts);
    RETURN QUERY VALUES ('responses'::text, n_responses), ('prompts'::text, n_prompts);
END
$$;
COMMENT ON FUNCTION cleanup_old_responses(integer) IS
    'Delete responses older than `days` days (default 180) and prompts left with no response.';

-- Label metrics per day, computed from the label definitions of the tracking plan.
-- dimension/segment are '' for the overall value, else e.g. ('model', 'gpt-4o-mini').
CREATE TABLE analytics.label_metrics (
    day         date             NOT NULL,
    label       text             NOT NULL,
    kind        text             NOT NULL,
    dimension   text             NOT NULL DEFAULT '',
    segment     text             NOT NULL DEFAULT '',
    value       double precision,
    numerator   double precision,
    denominator bigint           NOT NULL,
    computed_at timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (day, label, dimension, segment)
);
COMMENT ON TABLE analytics.label_metrics IS
    'ML label metrics per day (and per segment where the label defines `by`); see events.yml.';

-- Back to one unpartitioned app_events (0007's shape), in one transaction: rows, ids and views
-- carried over, the partitions, event_ids and the partition functions dropped.

LOCK TABLE app_events IN ACCESS EXCLUSIVE MODE;

CREATE TABLE app_events_unpartitioned (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL,
    event_name   text        NOT NULL,
    user_id      text,
    anonymous_id text,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    context      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    properties   jsonb       NOT NULL DEFAULT '{}'::jsonb
);
INSERT INTO app_events_unpartitioned
    (id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at, context,
     properties)
OVERRIDING SYSTEM VALUE
SELECT id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at,
       context, properties
FROM app_events;
SELECT setval(pg_get_serial_sequence('app_events_unpartitioned', 'id'),
              greatest((SELECT max(id) FROM app_events), 1));

CREATE TEMPORARY TABLE app_events_views ON COMMIT DROP AS
SELECT DISTINCT view.oid::regclass AS view, pg_get_viewdef(view.oid) AS definition
FROM pg_depend AS d
JOIN pg_rewrite AS r ON r.oid = d.objid
JOIN pg_class AS view ON view.oid = r.ev_class
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refobjid = 'app_events'::regclass
  AND view.oid <> 'app_events'::regclass
  AND view.relkind = 'v';

ALTER TABLE app_events RENAME TO app_events_partitioned;
ALTER TABLE app_events_unpartitioned RENAME TO app_events;

DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT * FROM app_events_views LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', v.view, v.definition);
    END LOOP;
END
$$;

DROP TABLE app_events_partitioned;
DROP TABLE event_ids;
DROP FUNCTION create_event_partition(date, text);
DROP FUNCTION event_partitions(text);

ALTER TABLE app_events RENAME CONSTRAINT app_events_unpartitioned_pkey TO app_events_pkey;
ALTER SEQUENCE app_events_unpartitioned_id_seq RENAME TO app_events_id_seq;
ALTER TABLE app_events ADD CONSTRAINT app_events_event_id_key UNIQUE (event_id);
CREATE INDEX app_events_occurred_at_idx  ON app_events (occurred_at);
CREATE INDEX app_events_anonymous_id_idx ON app_events (anonymous_id);
CREATE INDEX app_events_user_keyset_idx ON app_events (user_id, occurred_at DESC, id DESC);
CREATE INDEX app_events_response_id_idx
    ON app_events ((properties ->> 'response_id'))
    WHERE properties ? 'response_id';
CREATE INDEX app_events_name_response_idx
    ON app_events (event_name, (properties ->> 'response_id'));
CREATE INDEX app_events_name_occurred_idx ON app_events (event_name, occurred_at);
COMMENT ON TABLE app_events IS 'Accepted product events, one row per event_id (dedup key).';

GRANT SELECT ON app_events TO everreach_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON app_events TO everreach_service;
ALTER TABLE app_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON app_events FOR SELECT TO everreach_reader
    USING (user_id = nullif(current_setting('everreach.user_id', true), ''));
CREATE POLICY service_all ON app_events TO everreach_service USING (true) WITH CHECK (true);

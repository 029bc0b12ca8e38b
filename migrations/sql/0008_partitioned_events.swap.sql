-- The event store partitioned by day (step 3 of 3, one transaction with the revision stamp): the
-- copied table takes the old one's place. The old table is locked, the rows written since the
-- last batch are copied, and both tables are compared (row count and sum of ids); if a row was
-- committed late behind a batch or deleted after its copy, the copy is reconciled row by row.
-- Views on app_events (the Dagster models') are re-pointed at the new table, then the old one is
-- dropped. Policies, grants and index names are the ones app_events had.

LOCK TABLE app_events IN ACCESS EXCLUSIVE MODE;

SELECT copy_events_batch(NULL);

DO $$
DECLARE
    old_shape record;
    new_shape record;
BEGIN
    SELECT count(*) AS n, coalesce(sum(id), 0) AS ids INTO old_shape FROM app_events;
    SELECT count(*) AS n, coalesce(sum(id), 0) AS ids INTO new_shape FROM app_events_partitioned;
    IF old_shape IS DISTINCT FROM new_shape THEN
        DELETE FROM app_events_partitioned AS p
        WHERE NOT EXISTS (SELECT 1 FROM app_events AS o WHERE o.id = p.id);
        DELETE FROM event_ids AS i
        WHERE NOT EXISTS (SELECT 1 FROM app_events AS o WHERE o.event_id = i.event_id);
        WITH missing AS (
            SELECT * FROM app_events AS o
            WHERE NOT EXISTS (SELECT 1 FROM event_ids AS i WHERE i.event_id = o.event_id)
        ),
        ids AS (
            INSERT INTO event_ids (event_id, occurred_at)
            SELECT event_id, occurred_at FROM missing
        )
        INSERT INTO app_events_partitioned
            (id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at,
             context, properties)
        OVERRIDING SYSTEM VALUE
        SELECT id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at,
               sent_at, context, properties
        FROM missing;
    END IF;
END
$$;

-- Views that read app_events, with their definitions as they read now.
CREATE TEMPORARY TABLE app_events_views ON COMMIT DROP AS
SELECT DISTINCT view.oid::regclass AS view, pg_get_viewdef(view.oid) AS definition
FROM pg_depend AS d
JOIN pg_rewrite AS r ON r.oid = d.objid
JOIN pg_class AS view ON view.oid = r.ev_class
WHERE d.classid = 'pg_rewrite'::regclass
  AND d.refobjid = 'app_events'::regclass
  AND view.oid <> 'app_events'::regclass
  AND view.relkind = 'v';

-- The new table's identity continues after the old one's.
SELECT setval(
    pg_get_serial_sequence('app_events_partitioned', 'id'),
    greatest(
        coalesce(pg_sequence_last_value(pg_get_serial_sequence('app_events', 'id')::regclass), 0),
        coalesce((SELECT max(id) FROM app_events), 0),
        1
    )
);

ALTER TABLE app_events RENAME TO app_events_unpartitioned;
ALTER TABLE app_events_partitioned RENAME TO app_events;

DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT * FROM app_events_views LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %s AS %s', v.view, v.definition);
    END LOOP;
END
$$;

DROP TABLE app_events_unpartitioned;
DROP FUNCTION copy_events_batch(integer);
DROP PROCEDURE copy_events_to_partitions(integer, integer, integer, integer);
DROP TABLE event_store_migration;

ALTER TABLE app_events RENAME CONSTRAINT app_events_partitioned_pkey TO app_events_pkey;
ALTER INDEX app_events_partitioned_occurred_at_idx RENAME TO app_events_occurred_at_idx;
ALTER INDEX app_events_partitioned_anonymous_id_idx RENAME TO app_events_anonymous_id_idx;
ALTER INDEX app_events_partitioned_user_keyset_idx RENAME TO app_events_user_keyset_idx;
ALTER INDEX app_events_partitioned_response_id_idx RENAME TO app_events_response_id_idx;
ALTER INDEX app_events_partitioned_name_response_idx RENAME TO app_events_name_response_idx;
ALTER INDEX app_events_partitioned_name_occurred_idx RENAME TO app_events_name_occurred_idx;
ALTER SEQUENCE app_events_partitioned_id_seq RENAME TO app_events_id_seq;

COMMENT ON TABLE app_events IS
    'Accepted product events, partitioned by UTC day of occurred_at; deduplicated by event_ids.';

-- As 0002: per-user reads through RLS, the service role everywhere.
GRANT SELECT ON app_events TO everreach_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON app_events TO everreach_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON event_ids TO everreach_service;
ALTER TABLE app_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON app_events FOR SELECT TO everreach_reader
    USING (user_id = nullif(current_setting('everreach.user_id', true), ''));
CREATE POLICY service_all ON app_events TO everreach_service USING (true) WITH CHECK (true);

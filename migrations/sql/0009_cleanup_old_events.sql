-- cleanup_old_events as 0009 made it; 0009's upgrade creates it, 0013's downgrade restores it.
-- Event retention drops day partitions instead of deleting rows (app_events is partitioned by
-- UTC day since 0008). cleanup_old_events(days) keeps its name and its answer, the rows removed
-- per table, and now also says how many partitions it dropped; retention_runs records both.
--
-- Every partition wholly before the horizon is dropped whole (no per-row WAL, its space returned
-- at once); rows are deleted one by one only in the boundary partition (the horizon's day, when
-- the horizon is not midnight) and in DEFAULT. The dedup ids of the removed events go with them
-- (event_ids by occurred_at). The partitions touched are locked against inserts first (reads go
-- on), so the counts are exact and no event or id can slip in between the steps; the drop comes
-- last, so the parent's exclusive lock, which a drop needs, is held only for the commit.

CREATE OR REPLACE FUNCTION cleanup_old_events(days integer DEFAULT 90)
RETURNS TABLE (table_name text, deleted_rows bigint, dropped_partitions integer)
LANGUAGE plpgsql
AS $$
DECLARE
    cutoff timestamptz;
    cutoff_day date;
    boundary text;
    old_partitions text[];
    partition_name text;
    partition_rows bigint;
    n_events bigint := 0;
    n_quarantined bigint;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'cleanup_old_events: days must be >= 1, got %', days;
    END IF;
    cutoff := now() - make_interval(days => days);
    cutoff_day := (cutoff AT TIME ZONE 'UTC')::date;
    SELECT coalesce(array_agg(p.partition_name ORDER BY p.day), '{}') INTO old_partitions
    FROM event_partitions() AS p WHERE p.day < cutoff_day;
    SELECT p.partition_name INTO boundary FROM event_partitions() AS p WHERE p.day = cutoff_day;

    FOREACH partition_name IN ARRAY
        array_remove(old_partitions || boundary || 'app_events_default'::text, NULL)
    LOOP
        EXECUTE format('LOCK TABLE %I IN SHARE MODE', partition_name);
    END LOOP;

    FOREACH partition_name IN ARRAY old_partitions LOOP
        EXECUTE format('SELECT count(*) FROM %I', partition_name) INTO partition_rows;
        n_events := n_events + partition_rows;
    END LOOP;
    IF boundary IS NOT NULL THEN
        EXECUTE format('DELETE FROM %I WHERE occurred_at < %L', boundary, cutoff);
        GET DIAGNOSTICS partition_rows = ROW_COUNT;
        n_events := n_events + partition_rows;
    END IF;
    DELETE FROM app_events_default WHERE occurred_at < cutoff;
    GET DIAGNOSTICS partition_rows = ROW_COUNT;
    n_events := n_events + partition_rows;
    DELETE FROM event_ids WHERE occurred_at < cutoff;

    DELETE FROM quarantined_events WHERE received_at < cutoff;
    GET DIAGNOSTICS n_quarantined = ROW_COUNT;

    FOREACH partition_name IN ARRAY old_partitions LOOP
        EXECUTE format('DROP TABLE %I', partition_name);
    END LOOP;

    INSERT INTO retention_runs
        (function, keep_days, cutoff, table_name, deleted_rows, dropped_partitions)
    VALUES
        ('cleanup_old_events', days, cutoff, 'app_events', n_events,
         cardinality(old_partitions)),
        ('cleanup_old_events', days, cutoff, 'quarantined_events', n_quarantined, 0);
    RETURN QUERY VALUES
        ('app_events'::text, n_events, cardinality(old_partitions)),
        ('quarantined_events'::text, n_quarantined, 0);
END
$$;
COMMENT ON FUNCTION cleanup_old_events(integer) IS
    'Remove events older than `days` days (default 90): whole day partitions dropped, the '
    'boundary day and DEFAULT deleted by row; logs counts and partitions in retention_runs.';

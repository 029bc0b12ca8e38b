-- Back to 0004's row-by-row cleanup_old_events (on the partitioned table of 0008).
DROP FUNCTION cleanup_old_events(integer);
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
    DELETE FROM event_ids WHERE occurred_at < cutoff;
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
ALTER TABLE retention_runs DROP COLUMN dropped_partitions;

-- The event store partitioned by UTC day of occurred_at (step 1 of 3: the new tables, the
-- partition functions and the batch copy; `0008_partitioned_events.swap.sql` puts the new table
-- in place of the old one). Everything here is idempotent: an interrupted migration re-runs it.
--
-- Why by day: retention then drops whole days (DROP TABLE: no row-by-row WAL, space back at once)
-- and the daily models, label metrics and exports read only their day's partition.
--
-- Postgres needs the partition key in every unique key, so UNIQUE (event_id) cannot stay on
-- app_events: `event_ids` is the dedup key of the whole store, one narrow row per stored event,
-- with the event's occurred_at so retention removes the ids of the events it removes. The
-- collector inserts there first (ON CONFLICT DO NOTHING) and stores only the events whose id was
-- new, in the same statement (everreach/collector/sql/store_events.sql).

CREATE TABLE IF NOT EXISTS event_ids (
    event_id    uuid        PRIMARY KEY,
    occurred_at timestamptz NOT NULL
);
COMMENT ON TABLE event_ids IS
    'Dedup key of app_events across its partitions: one row per stored event, removed with it.';
-- What retention deletes by: the ids of the events past the horizon.
CREATE INDEX IF NOT EXISTS event_ids_occurred_at_idx ON event_ids (occurred_at);

-- The new table, under a temporary name until the swap. Same columns as app_events (0001);
-- the primary key includes the partition key, as Postgres requires.
CREATE TABLE IF NOT EXISTS app_events_partitioned (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    event_id     uuid        NOT NULL,
    event_name   text        NOT NULL,
    user_id      text,
    anonymous_id text,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    context      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    properties   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT app_events_partitioned_pkey PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- The indexes app_events has at 0007 (but UNIQUE (event_id), now event_ids' primary key); each
-- partition gets its own copy. Renamed to the old names by the swap.
CREATE INDEX IF NOT EXISTS app_events_partitioned_occurred_at_idx
    ON app_events_partitioned (occurred_at);
CREATE INDEX IF NOT EXISTS app_events_partitioned_anonymous_id_idx
    ON app_events_partitioned (anonymous_id);
CREATE INDEX IF NOT EXISTS app_events_partitioned_user_keyset_idx
    ON app_events_partitioned (user_id, occurred_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS app_events_partitioned_response_id_idx
    ON app_events_partitioned ((properties ->> 'response_id'))
    WHERE properties ? 'response_id';
CREATE INDEX IF NOT EXISTS app_events_partitioned_name_response_idx
    ON app_events_partitioned (event_name, (properties ->> 'response_id'));
CREATE INDEX IF NOT EXISTS app_events_partitioned_name_occurred_idx
    ON app_events_partitioned (event_name, occurred_at);

-- Events whose day has no partition (yet) land here; the maintenance moves them out.
CREATE TABLE IF NOT EXISTS app_events_default PARTITION OF app_events_partitioned DEFAULT;

-- The day partitions of the event store and their days (partitions are named
-- app_events_pYYYYMMDD; the DEFAULT partition is not listed).
CREATE OR REPLACE FUNCTION event_partitions(parent text DEFAULT 'app_events')
RETURNS TABLE (partition_name text, day date)
LANGUAGE sql STABLE
AS $$
    SELECT c.relname::text, to_date(substr(c.relname, 13), 'YYYYMMDD')
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent::regclass
      AND c.relname ~ '^app_events_p[0-9]{8}$'
    ORDER BY 2
$$;
COMMENT ON FUNCTION event_partitions(text) IS 'The day partitions of app_events, oldest first.';

-- Make the partition of one UTC day if it is missing; true when it was made now. Rows of that
-- day waiting in the DEFAULT partition move into it in the same transaction: the new table is
-- filled before it is attached (CREATE ... PARTITION OF would fail while DEFAULT holds them),
-- and a CHECK of its bounds spares ATTACH a validation scan.
CREATE OR REPLACE FUNCTION create_event_partition(day date, parent text DEFAULT 'app_events')
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    partition_name text := 'app_events_p' || to_char(day, 'YYYYMMDD');
    lower_bound timestamptz := day::timestamp AT TIME ZONE 'UTC';
    upper_bound timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    -- One maker at a time (the migrate command and the scheduled maintenance may overlap).
    PERFORM pg_advisory_xact_lock(hashtext('create_event_partition'));
    IF to_regclass(partition_name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I)', partition_name, parent);
    EXECUTE format(
        'WITH moved AS (DELETE FROM app_events_default WHERE occurred_at >= %L'
        ' AND occurred_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
        lower_bound, upper_bound, partition_name);
    EXECUTE format(
        'ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)',
        partition_name, partition_name || '_bounds', lower_bound, upper_bound);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        parent, partition_name, lower_bound, upper_bound);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', partition_name,
        partition_name || '_bounds');
    RETURN true;
END
$$;
COMMENT ON FUNCTION create_event_partition(date, text) IS
    'Create the app_events partition of one UTC day (moving its rows out of DEFAULT); true if new.';

-- Where the copy stands: the last old id copied. One row, updated with each batch it describes.
CREATE TABLE IF NOT EXISTS event_store_migration (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id     bigint  NOT NULL,
    copied_rows bigint  NOT NULL
);
INSERT INTO event_store_migration (last_id, copied_rows) VALUES (0, 0) ON CONFLICT DO NOTHING;

-- Copy the next `batch_size` old rows (all of them when NULL) in id order with their ids, and
-- record how far the copy got; returns the rows copied.
CREATE OR REPLACE FUNCTION copy_events_batch(batch_size integer)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    from_id bigint;
    batch_last_id bigint;
    batch_rows bigint;
BEGIN
    SELECT last_id INTO from_id FROM event_store_migration;
    WITH batch AS (
        SELECT * FROM app_events WHERE id > from_id ORDER BY id LIMIT batch_size
    ),
    ids AS (
        INSERT INTO event_ids (event_id, occurred_at)
        SELECT event_id, occurred_at FROM batch
    ),
    copied AS (
        INSERT INTO app_events_partitioned
            (id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at,
             sent_at, context, properties)
        OVERRIDING SYSTEM VALUE
        SELECT id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at,
               sent_at, context, properties
        FROM batch
    )
    SELECT max(id), count(*) INTO batch_last_id, batch_rows FROM batch;
    IF batch_rows > 0 THEN
        UPDATE event_store_migration
        SET last_id = batch_last_id, copied_rows = copied_rows + batch_rows;
    END IF;
    RETURN batch_rows;
END
$$;

-- Copy the old app_events into the new one in batches, each committed with the progress row, so
-- an interrupted copy resumes where it stopped. Days that hold old rows get their partition
-- first (a skip scan of the occurred_at index: one probe per day), if within `max_age_days` of
-- today, and so do the next `ahead_days`; older and later rows wait in DEFAULT for the
-- maintenance. `max_batches` stops early (a test interrupts the copy with it).
CREATE OR REPLACE PROCEDURE copy_events_to_partitions(
    batch_size integer DEFAULT 50000,
    max_batches integer DEFAULT NULL,
    max_age_days integer DEFAULT 400,
    ahead_days integer DEFAULT 14
)
LANGUAGE plpgsql
AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    old_day date;
    batches integer := 0;
BEGIN
    FOR old_day IN
        WITH RECURSIVE days AS (
            SELECT (min(occurred_at) AT TIME ZONE 'UTC')::date AS day FROM app_events
            UNION ALL
            SELECT (SELECT (min(e.occurred_at) AT TIME ZONE 'UTC')::date FROM app_events AS e
                    WHERE e.occurred_at >= (d.day + 1)::timestamp AT TIME ZONE 'UTC')
            FROM days AS d WHERE d.day IS NOT NULL
        )
        SELECT d.day FROM days AS d
        WHERE d.day BETWEEN today - max_age_days AND today + ahead_days
        UNION
        SELECT g::date FROM generate_series(today, today + ahead_days, interval '1 day') AS g
    LOOP
        PERFORM create_event_partition(old_day, 'app_events_partitioned');
        COMMIT;
    END LOOP;
    WHILE max_batches IS NULL OR batches < max_batches LOOP
        EXIT WHEN copy_events_batch(batch_size) = 0;
        COMMIT;
        batches := batches + 1;
    END LOOP;
END
$$;

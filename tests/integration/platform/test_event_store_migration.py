"""Migration 0008 on a database that a release before it left populated: app_events becomes the
day-partitioned table in place, every row kept once, also when the copy is interrupted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from everreach.platform.migrations import SQL_DIR, current_revisions, empty_database, upgrade

# The heads before the partitioned event store (0008): the schema of the previous release.
HEADS_BEFORE = (
    "0002_accounts",
    "0003_forwarding",
    "0005_sdk_formats",
    "0007_redundant_event_indexes",
)
# The columns of the release before partitioning (later migrations add columns of their own).
ROWS = (
    "SELECT id, event_id, event_name, user_id, anonymous_id, occurred_at, received_at, sent_at,"
    " context, properties FROM app_events ORDER BY id"
)


@pytest.fixture
def old_database(pg_server_url: str) -> Iterator[str]:
    """A database migrated to the previous release's heads only."""
    with empty_database(pg_server_url, "everreach_before_0008") as url:
        for head in HEADS_BEFORE:
            upgrade(url, head)
        yield url


def populate(conn: psycopg.Connection[Any], count: int, start: datetime) -> None:
    """`count` events, one every 5 hours back from `start`, with every column filled."""
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO app_events (event_id, event_name, user_id, anonymous_id, occurred_at,"
            " sent_at, context, properties) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    uuid.uuid4(),
                    "message_sent" if n % 3 else "ai_response_generated",
                    f"user-{n % 7}",
                    f"device-{n % 11}",
                    start - timedelta(hours=5 * n),
                    start - timedelta(hours=5 * n, seconds=-2),
                    '{"platform": "ios"}',
                    f'{{"response_id": "{uuid.uuid4()}", "n": {n}}}',
                )
                for n in range(count)
            ],
        )


def test_a_populated_store_is_partitioned_in_place_with_every_row_once(old_database: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(old_database, autocommit=True) as conn:
        populate(conn, 600, now + timedelta(days=20))  # 125 days, the newest beyond 14 ahead
        conn.execute(
            "INSERT INTO app_events (event_id, event_name, occurred_at)"
            " VALUES (gen_random_uuid(), 'x', '2001-01-01')"
        )  # a broken clock
        conn.execute("CREATE VIEW recent_names AS SELECT event_name, occurred_at FROM app_events")
        before = conn.execute(ROWS).fetchall()
        last_id = conn.execute("SELECT max(id) FROM app_events").fetchone()[0]

    applied = upgrade(old_database)
    assert applied[:2] == ["0008_partitioned_events", "0009_retention_drops_partitions"]

    with psycopg.connect(old_database, autocommit=True) as conn:
        assert conn.execute(
            "SELECT relkind FROM pg_class WHERE relname = 'app_events'"
        ).fetchone() == ("p",)
        assert conn.execute(ROWS).fetchall() == before
        ids = conn.execute("SELECT event_id, occurred_at FROM event_ids ORDER BY event_id")
        assert ids.fetchall() == sorted((row[1], row[5]) for row in before)
        in_default = conn.execute(
            "SELECT occurred_at FROM app_events_default ORDER BY 1"
        ).fetchall()
        assert in_default[0][0].year == 2001  # older than 400 days: waits in DEFAULT
        later = [at for (at,) in in_default[1:]]
        assert later and all(at > now + timedelta(days=14) for at in later)  # beyond the window
        assert conn.execute("SELECT count(*) FROM recent_names").fetchone() == (len(before),)
        new_id = conn.execute(
            "INSERT INTO app_events (event_id, event_name, occurred_at)"
            " VALUES (gen_random_uuid(), 'x', now()) RETURNING id"
        ).fetchone()[0]
        assert new_id > last_id
        for table in (
            "event_store_migration",
            "app_events_partitioned",
            "app_events_unpartitioned",
        ):
            assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,)
        policies = conn.execute(
            "SELECT policyname FROM pg_policies WHERE tablename = 'app_events' ORDER BY 1"
        ).fetchall()
        assert policies == [("own_rows",), ("service_all",)]


def test_an_interrupted_copy_resumes_where_it_stopped_and_catches_up_on_later_writes(
    old_database: str,
) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(old_database, autocommit=True) as conn:
        populate(conn, 500, now)
    # The migration starts: its first step and two batches of 100 commit, then it is stopped.
    with psycopg.connect(old_database) as conn:
        conn.execute((SQL_DIR / "0008_partitioned_events.prepare.sql").read_text())
    with psycopg.connect(old_database, autocommit=True) as conn:
        conn.execute("CALL copy_events_to_partitions(100, 2)")
        assert conn.execute("SELECT copied_rows FROM event_store_migration").fetchone() == (200,)
        # The old store keeps working meanwhile: a row already copied is deleted (an erasure),
        # new rows arrive.
        conn.execute("DELETE FROM app_events WHERE id = (SELECT min(id) FROM app_events)")
        populate(conn, 50, now)
        before = conn.execute(ROWS).fetchall()
    assert "0007_redundant_event_indexes" in current_revisions(old_database)

    upgrade(old_database)

    with psycopg.connect(old_database, autocommit=True) as conn:
        assert conn.execute(ROWS).fetchall() == before
        assert conn.execute("SELECT count(*) FROM event_ids").fetchone() == (len(before),)

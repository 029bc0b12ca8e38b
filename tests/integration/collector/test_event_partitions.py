"""app_events by day: events land in their day's partition, dedup holds across partitions, and
the maintenance makes partitions ahead and empties the DEFAULT partition."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from api.app import create_app
from api.server import serve_in_thread
from everreach.collector.event_partitions import (
    DefaultDay,
    Maintenance,
    default_partition_days,
    maintain_partitions,
)
from everreach.platform.migrations import empty_database, scratch_database
from everreach_cli.schema import migrate_database
from tests.conftest import make_settings
from tests.helpers import event, new_id


def post(api: httpx.Client, body: Any) -> dict[str, Any]:
    response = api.post("/v1/ingest", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def where_stored(db: psycopg.Connection[Any], event_id: str) -> list[tuple[str, datetime]]:
    return db.execute(
        "SELECT tableoid::regclass::text, occurred_at FROM app_events WHERE event_id = %s",
        (event_id,),
    ).fetchall()


def partition_of(day: date) -> str:
    return f"app_events_p{day:%Y%m%d}"


@pytest.fixture
def fresh_database(pg_server_url: str) -> Iterator[str]:
    """A database of its own: these tests look at everything the DEFAULT partition holds."""
    with scratch_database(pg_server_url, "everreach_partitions") as url:
        yield url


def test_an_event_is_stored_in_the_partition_of_its_utc_day(api, db) -> None:
    sent = event("signup_started", {"method": "email"}, anonymous_id=new_id())
    assert post(api, sent)["accepted"] == 1
    ((partition, occurred_at),) = where_stored(db, sent["event_id"])
    assert partition == partition_of(occurred_at.astimezone(UTC).date())


def test_a_retry_whose_skew_correction_moves_it_to_another_day_is_a_duplicate(api, db) -> None:
    """A different sent_at gives a different correction: the retry's occurred_at is two days
    later, in another partition, and it is still the same event."""
    now = datetime.now(UTC)
    first = event(
        "signup_started",
        {"method": "email"},
        anonymous_id=new_id(),
        timestamp=now.isoformat(),
        sent_at=now.isoformat(),
    )
    assert post(api, first)["results"][0]["status"] == "accepted"
    # The phone's clock now reads two days earlier: the retry is corrected two days ahead.
    retry = {**first, "sent_at": (now - timedelta(days=2)).isoformat()}
    assert post(api, retry)["results"][0]["status"] == "duplicate"
    ((partition, occurred_at),) = where_stored(db, first["event_id"])
    assert occurred_at == now and partition == partition_of(now.date())


def test_the_same_id_twice_in_one_batch_on_two_days_is_stored_once(api, db) -> None:
    now = datetime.now(UTC)
    first = event("signup_started", {"method": "email"}, anonymous_id=new_id())
    other_day = {**first, "timestamp": (now - timedelta(days=1)).isoformat()}
    body = post(api, {"batch": [first, other_day]})
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]
    assert len(where_stored(db, first["event_id"])) == 1
    ids = db.execute("SELECT count(*) FROM event_ids WHERE event_id = %s", (first["event_id"],))
    assert ids.fetchone() == (1,)


def insert_event(conn: psycopg.Connection[Any], occurred_at: datetime) -> uuid.UUID:
    event_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO app_events (event_id, event_name, occurred_at) VALUES (%s, 'x', %s)",
        (event_id, occurred_at),
    )
    return event_id


def test_maintenance_makes_partitions_ahead_and_moves_default_rows_into_their_day(
    fresh_database: str,
) -> None:
    today = datetime.now(UTC).date()
    noon = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=12)
    late = noon - timedelta(days=20)  # no partition: a fresh database has today and after
    early = noon + timedelta(days=30)  # beyond the two weeks made ahead
    far_future = noon + timedelta(days=400)  # a broken client clock
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        rows = {at: insert_event(conn, at) for at in (late, early, far_future)}
        insert_event(conn, late - timedelta(hours=1))
        assert default_partition_days(conn) == [
            DefaultDay(late.date(), 2),
            DefaultDay(early.date(), 1),
            DefaultDay(far_future.date(), 1),
        ]
        before = conn.execute("SELECT * FROM app_events ORDER BY id").fetchall()

        report = maintain_partitions(conn, keep_days=25, ahead_days=30)

        assert late.date() in report.created and early.date() in report.created
        assert report.moved_events == 3
        assert report.left_in_default == [DefaultDay(far_future.date(), 1)]
        made = {day for _, day in conn.execute("SELECT * FROM event_partitions()").fetchall()}
        assert {today - timedelta(days=25), today + timedelta(days=30)} <= made
        assert conn.execute("SELECT * FROM app_events ORDER BY id").fetchall() == before
        placed = dict(
            conn.execute(
                "SELECT event_id, tableoid::regclass::text FROM app_events"
                " WHERE event_id = ANY(%s)",
                (list(rows.values()),),
            ).fetchall()
        )
        assert placed[rows[late]] == partition_of(late.date())
        assert placed[rows[early]] == partition_of(early.date())
        assert placed[rows[far_future]] == "app_events_default"
        assert maintain_partitions(conn, keep_days=25, ahead_days=30).created == []


def partition_days(conn: psycopg.Connection[Any]) -> set[date]:
    return {day for _, day in conn.execute("SELECT * FROM event_partitions()").fetchall()}


def test_retention_drops_whole_days_deletes_only_in_the_boundary_day_and_counts_every_row(
    fresh_database: str,
) -> None:
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=10)
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        maintain_partitions(conn, keep_days=15, ahead_days=14)
        # Every 6 hours over 15 days, one far in the past (in DEFAULT), ids as the store keeps.
        moments = [now - timedelta(hours=6 * n + 1) for n in range(60)]
        moments.append(now - timedelta(days=500))
        for at in moments:
            event_id = insert_event(conn, at)
            conn.execute("INSERT INTO event_ids VALUES (%s, %s)", (event_id, at))
        conn.execute(
            "INSERT INTO quarantined_events (event_id, raw, reasons, received_at)"
            " VALUES (gen_random_uuid(), '{}', '[]', %s)",
            (now - timedelta(days=11),),
        )
        for name, at in (("$identify", now - timedelta(days=11)), ("$pageview", now)):
            conn.execute(
                "INSERT INTO sdk_system_events (event_id, source, event_name, occurred_at)"
                " VALUES (gen_random_uuid(), 'posthog', %s, %s)",
                (name, at),
            )
        old_days = {d for d in partition_days(conn) if d < cutoff.date()}
        kept_rows = conn.execute(
            "SELECT * FROM app_events WHERE occurred_at >= %s ORDER BY id", (cutoff,)
        ).fetchall()
        expected = sum(1 for at in moments if at < cutoff)

        removed = conn.execute("SELECT * FROM cleanup_old_events(10)").fetchall()

        assert removed == [
            ("app_events", expected, len(old_days)),
            ("quarantined_events", 1, 0),
            ("sdk_system_events", 1, 0),
        ]
        assert len(old_days) == 5
        assert not {d for d in partition_days(conn) if d < cutoff.date()}
        assert cutoff.date() in partition_days(conn)  # the boundary day: only its old rows went
        assert conn.execute("SELECT * FROM app_events ORDER BY id").fetchall() == kept_rows
        assert conn.execute("SELECT count(*) FROM event_ids").fetchone() == (len(kept_rows),)
        logged = conn.execute(
            "SELECT table_name, deleted_rows, dropped_partitions FROM retention_runs ORDER BY id"
        ).fetchall()
        assert logged == [
            ("app_events", expected, 5),
            ("quarantined_events", 1, 0),
            ("sdk_system_events", 1, 0),
        ]
        kept_system = conn.execute("SELECT event_name FROM sdk_system_events").fetchall()
        assert kept_system == [("$pageview",)]


def test_an_event_retried_after_its_partition_was_dropped_is_accepted_again(
    fresh_database: str, tmp_path
) -> None:
    """Its id went with its partition: the store no longer knows it, like any event older than
    retention, so the retry is accepted and stored again (in DEFAULT, its day's partition being
    gone), and the next cleanup removes it again."""
    old = datetime.now(UTC) - timedelta(days=12)
    sent = event(
        "signup_started", {"method": "email"}, anonymous_id=new_id(), timestamp=old.isoformat()
    )
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        maintain_partitions(conn, keep_days=15, ahead_days=14)
        settings = make_settings(tmp_path, fresh_database)
        with (
            serve_in_thread(create_app(settings, fresh_database)) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as api,
        ):
            assert post(api, sent)["results"][0]["status"] == "accepted"
            assert post(api, sent)["results"][0]["status"] == "duplicate"
            assert where_stored(conn, sent["event_id"]) == [(partition_of(old.date()), old)]
            conn.execute("SELECT cleanup_old_events(10)")
            assert where_stored(conn, sent["event_id"]) == []
            assert post(api, sent)["results"][0]["status"] == "accepted"
            assert where_stored(conn, sent["event_id"]) == [("app_events_default", old)]
            assert post(api, sent)["results"][0]["status"] == "duplicate"


def test_a_database_brought_up_to_date_stores_past_days_events_in_their_day(
    pg_server_url: str, tmp_path
) -> None:
    """Every command that migrates makes the day partitions of the retention window too
    (everreach_cli.schema). The migrations alone make today's and the days ahead: migrated
    alone, as `everreach demo` and `everreach serve` did, a new database stored the events of
    every earlier day (a replay, a phone's offline queue) in DEFAULT until the nightly
    maintenance."""
    with empty_database(pg_server_url, "everreach_up_to_date") as url:
        settings = make_settings(tmp_path, url)
        applied, partitions = migrate_database(settings, url)
        today = datetime.now(UTC).date()
        assert applied
        assert today - timedelta(days=settings.retention_events_days) in partitions.created
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO app_events (event_id, event_name, occurred_at) VALUES (%s, %s, %s)",
                (uuid.uuid4(), "signup_started", datetime.now(UTC) - timedelta(days=10)),
            )
            stored = conn.execute("SELECT tableoid::regclass::text, occurred_at FROM app_events")
            (partition, occurred_at) = stored.fetchone()
        assert partition == partition_of(occurred_at.astimezone(UTC).date())
        assert migrate_database(settings, url) == ([], Maintenance([], 0, []))  # idempotent

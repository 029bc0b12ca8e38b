"""Two runs of the same day at once (the nightly schedule and a backfill) replace the day in
turn: the second waits for the first to commit, then replaces its rows. Before, each deleted
the day before the other's insert was visible, so a day's rows were doubled in a model table
(no unique key) and the second run failed on label_metrics' primary key.

Deterministic: the first run is held open in a transaction on its own connection while the
second starts; the test waits until Postgres shows the second waiting on a lock, then commits
the first."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import psycopg
import pytest
from psycopg import sql

from everreach.datasets.labels import LabelValue, store_labels
from everreach.datasets.sql_models import SCHEMA, SqlModel, materialize
from everreach.platform.day_locks import lock_days
from everreach.platform.days import day_window
from tests.helpers import hourly_model

DAY = date(2026, 11, 2)


def _second_run_after_first(
    database_url: str, db, first: Callable[[psycopg.Connection], None], second: Callable
) -> None:
    """Run `first` in an open transaction, start `second` beside it, wait until the second
    waits on a lock, commit the first, and let the second finish (re-raising its error)."""
    errors: list[BaseException] = []
    with (
        psycopg.connect(database_url) as first_conn,
        psycopg.connect(database_url, autocommit=True) as second_conn,
    ):
        first_conn.execute("SELECT 1")  # a transaction open, so `first` runs inside it
        first(first_conn)  # not committed yet

        def run() -> None:
            try:
                second(second_conn)
            except BaseException as error:  # re-raised below, in the test's thread
                errors.append(error)

        pid = second_conn.info.backend_pid
        thread = threading.Thread(target=run)
        thread.start()
        for _ in range(500):
            waiting = db.execute(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if waiting and waiting[0]:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the second run never waited for the first")
        first_conn.commit()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the second run did not finish once the first committed"
    if errors:
        raise errors[0]


@pytest.fixture
def existing_model(database_url: str, db) -> Iterator[SqlModel]:
    """A partitioned model whose table exists already: the runs below are past creating it."""
    model = hourly_model("same_day")
    with psycopg.connect(database_url, autocommit=True) as conn:
        materialize(conn, model, day_window(DAY))
    yield model
    db.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, model.name)))


def _replacing_the_day(model: SqlModel, day: date) -> Callable[[psycopg.Connection], None]:
    """A run of `model` for `day` in the middle of its refresh, as materialize does it once the
    relation exists (its creation takes a lock of its own, which would hold a second run back
    for another reason)."""
    table = sql.Identifier(SCHEMA, model.name)
    window = day_window(day)

    def replace(conn: psycopg.Connection) -> None:
        lock_days(conn, f"{SCHEMA}.{model.name}", [day])
        conn.execute(sql.SQL("DELETE FROM {} WHERE at >= %s AND at < %s").format(table), window)
        conn.execute(sql.SQL("INSERT INTO {} {}").format(table, sql.SQL(model.render(str, window))))

    return replace


def _rows_per_day(db, model: SqlModel) -> dict[date, int]:
    table = sql.Identifier(SCHEMA, model.name)
    query = sql.SQL("SELECT at::date, count(*) FROM {} GROUP BY 1").format(table)
    return dict(db.execute(query).fetchall())


def test_a_model_day_refreshed_by_two_runs_at_once_holds_its_rows_once(
    database_url: str, db, existing_model: SqlModel
) -> None:
    _second_run_after_first(
        database_url,
        db,
        _replacing_the_day(existing_model, DAY),
        lambda conn: materialize(conn, existing_model, day_window(DAY)),
    )
    assert _rows_per_day(db, existing_model) == {DAY: 24}


def test_runs_of_different_days_of_a_model_do_not_wait_for_each_other(
    database_url: str, db, existing_model: SqlModel
) -> None:
    other_day = DAY + timedelta(days=1)
    with psycopg.connect(database_url) as first_conn:
        _replacing_the_day(existing_model, DAY)(first_conn)  # not committed while the other runs
        done = threading.Event()

        def other_run() -> None:
            with psycopg.connect(database_url, autocommit=True) as conn:
                materialize(conn, existing_model, day_window(other_day))
            done.set()

        thread = threading.Thread(target=other_run)
        thread.start()
        finished_beside = done.wait(timeout=30)
        first_conn.commit()
        thread.join(timeout=30)
    assert finished_beside, "the other day's run waited for the first day's to commit"
    assert _rows_per_day(db, existing_model) == {DAY: 24, other_day: 24}


def _values(label: str, value: float) -> list[LabelValue]:
    return [LabelValue(DAY, label, "ratio", "", "", value, value, 1)]


def test_label_metrics_stored_by_two_runs_at_once_keep_the_second_runs(
    database_url: str, db
) -> None:
    label = f"same_day_{uuid.uuid4().hex[:8]}"
    window = day_window(DAY)
    try:
        _second_run_after_first(
            database_url,
            db,
            lambda conn: store_labels(conn, window, _values(label, 0.25)),
            lambda conn: store_labels(conn, window, _values(label, 0.75)),
        )
        rows = db.execute(
            "SELECT value FROM analytics.label_metrics WHERE day = %s AND label = %s",
            (DAY, label),
        ).fetchall()
        assert rows == [(0.75,)]
    finally:
        db.execute("DELETE FROM analytics.label_metrics WHERE label = %s", (label,))

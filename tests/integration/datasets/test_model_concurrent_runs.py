"""A backfill's days run at once (one run per day, on several workers), and each run creates its
model's relation if it is missing. Postgres does not make CREATE ... IF NOT EXISTS or CREATE OR
REPLACE VIEW safe against a concurrent creator: without the lock, one of the runs failed on
pg_type's unique index (the failure a CI run of the celery demo met). Here many connections
materialize new models at once, released together by a barrier."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import psycopg
from psycopg import sql

from everreach.datasets.sql_models import SCHEMA, SqlModel, materialize
from everreach.platform.days import day_window
from tests.helpers import hourly_model

RUNS = 8
FIRST_DAY = date(2026, 11, 1)


def _view() -> SqlModel:
    return SqlModel(
        name=f"concurrent_view_{uuid.uuid4().hex[:8]}",
        body="SELECT 1 AS one",
        materialized="view",
        group="test",
        description="",
        partition_column=None,
        refs=(),
    )


def test_runs_that_create_the_same_models_at_once_all_succeed(database_url: str, db) -> None:
    per_day, view = hourly_model("concurrent_days"), _view()
    barrier = threading.Barrier(RUNS)
    errors: list[BaseException] = []
    rows: dict[int, int] = {}

    def run(n: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                barrier.wait()
                materialize(conn, view)
                rows[n] = materialize(conn, per_day, day_window(FIRST_DAY + timedelta(days=n)))
        except BaseException as error:  # collected, and asserted below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert rows == dict.fromkeys(range(RUNS), 24)
        table = sql.Identifier(SCHEMA, per_day.name)
        counts = db.execute(
            sql.SQL("SELECT at::date, count(*) FROM {} GROUP BY 1 ORDER BY 1").format(table)
        ).fetchall()
        assert counts == [(FIRST_DAY + timedelta(days=n), 24) for n in range(RUNS)]
        (one,) = db.execute(
            sql.SQL("SELECT one FROM {}").format(sql.Identifier(SCHEMA, view.name))
        ).fetchone()
        assert one == 1
    finally:
        for model, kind in ((per_day, "TABLE"), (view, "VIEW")):
            name = sql.Identifier(SCHEMA, model.name)
            db.execute(sql.SQL("DROP {} IF EXISTS {}").format(sql.SQL(kind), name))

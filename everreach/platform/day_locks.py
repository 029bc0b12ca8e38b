"""One writer at a time per day of a table that runs replace by day (delete the days, insert).

Two runs of the same day at once (the nightly schedule and a backfill, or a backfill re-run
while the first still runs) each deleted the day's rows before the other's insert was visible:
both inserts then landed, doubling the day's rows where the table has no unique key, or one run
failed on its primary key where it has one. A transaction-scoped advisory lock per (table, day),
taken before the delete, makes the second run wait for the first to commit; its delete, a new
statement with a new snapshot under READ COMMITTED, then sees and replaces the first run's rows.
Runs of different days do not wait for each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import psycopg

_EPOCH = date(2000, 1, 1)


def lock_days(conn: psycopg.Connection, table: str, days: Iterable[date]) -> None:
    """Hold, to the end of the current transaction, the lock of each day of `table`.

    Taken in day order, so two runs over overlapping ranges cannot deadlock.
    """
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and conn.autocommit:
        raise RuntimeError("lock_days needs a transaction: the lock would end with the statement")
    for day in sorted(set(days)):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", (table, (day - _EPOCH).days))

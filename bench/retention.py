"""Retention benchmark (`make bench-retention`): dropping day partitions vs deleting rows.

Fills app_events with 10 M events over 120 days (as the collector stores them: the event in its
day partition, its id in event_ids), copies them into one unpartitioned table shaped as
app_events was before migration 0008 (the baseline), then removes the oldest 30 days both ways
in the same run:

- after: `cleanup_old_events(90)`: the old day partitions dropped, the boundary day deleted by
  row, the dropped events' ids deleted from event_ids (and the VACUUM of event_ids);
- before: `DELETE ... WHERE occurred_at < cutoff` on the copy (what cleanup_old_events did), with
  the cutoff the cleanup logged (so both remove the same rows), then the VACUUM that follows.

For each: seconds, WAL written (`pg_current_wal_lsn()` before and after, after a CHECKPOINT so
both start with the same full-page-image debt) and the size of the table with its indexes
afterwards. WAL is counted server-wide, so the benchmark runs on an embedded server of its own
(nobody else writes there); `--external` uses EVERREACH_BENCH_DATABASE_URL instead.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.environment import EXTERNAL_URL, REPO, against, machine_description, report
from everreach.collector import maintain_partitions
from everreach.platform.embedded_postgres import start_embedded
from everreach.platform.migrations import scratch_database
from everreach.platform.sql_files import sql_folder

query = sql_folder("bench")
CHUNK = 500_000
PARTITIONED_SIZE = """
SELECT (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('app_events'))
     + pg_total_relation_size('event_ids')
"""


@dataclass(frozen=True)
class Step:
    seconds: float
    wal_bytes: int
    answer: object = None


def measured(conn: psycopg.Connection, action: Callable[[], object]) -> Step:
    """Run `action` after a CHECKPOINT; its time and the WAL it wrote."""
    conn.execute("CHECKPOINT")
    (before,) = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
    started = time.perf_counter()
    answer = action()
    seconds = time.perf_counter() - started
    (wal,) = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (before,)).fetchone()
    return Step(seconds, int(wal), answer)


def fill(conn: psycopg.Connection, total: int, days: int) -> None:
    maintain_partitions(conn, keep_days=days + 1, ahead_days=14)
    for first in range(1, total + 1, CHUNK):
        last = min(first + CHUNK - 1, total)
        conn.execute(
            query("retention_fill"), {"first": first, "last": last, "total": total, "days": days}
        )
        print(f"  filled {last:,} / {total:,} events", flush=True)
    conn.execute("VACUUM ANALYZE app_events")
    conn.execute("VACUUM ANALYZE event_ids")
    print("  copying them into the unpartitioned baseline...", flush=True)
    conn.execute(query("retention_unpartitioned_copy"))
    conn.execute("VACUUM ANALYZE events_unpartitioned")


def megabytes(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def run(url: str, total: int, days: int, keep: int) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        print(f"filling {total:,} events over {days} days...", flush=True)
        fill(conn, total, days)
        size = "SELECT pg_total_relation_size('events_unpartitioned')"
        unpartitioned_before = conn.execute(size).fetchone()[0]
        partitioned_before = conn.execute(PARTITIONED_SIZE).fetchone()[0]
        partitions_before = conn.execute("SELECT count(*) FROM event_partitions()").fetchone()[0]

        print(f"after: cleanup_old_events({keep})...", flush=True)
        drop = measured(
            conn,
            lambda: conn.execute(
                "SELECT deleted_rows, dropped_partitions FROM cleanup_old_events(%s)"
                " WHERE table_name = 'app_events'",
                (keep,),
            ).fetchone(),
        )
        ids_vacuum = measured(conn, lambda: conn.execute("VACUUM event_ids"))
        partitioned_after = conn.execute(PARTITIONED_SIZE).fetchone()[0]
        # The baseline removes exactly what the cleanup did: the same cutoff, not a later now().
        (cutoff,) = conn.execute("SELECT max(cutoff) FROM retention_runs").fetchone()
        print(f"before: DELETE of the events before {cutoff:%Y-%m-%d %H:%M:%S}...", flush=True)
        delete = measured(
            conn,
            lambda: (
                conn.execute(
                    "DELETE FROM events_unpartitioned WHERE occurred_at < %s", (cutoff,)
                ).rowcount
            ),
        )
        vacuum = measured(conn, lambda: conn.execute("VACUUM events_unpartitioned"))
        unpartitioned_after = conn.execute(size).fetchone()[0]
        partitions_after = conn.execute("SELECT count(*) FROM event_partitions()").fetchone()[0]
        load = os.getloadavg()

    removed, dropped = drop.answer  # type: ignore[misc]
    print(f"  DELETE {delete}, VACUUM {vacuum}; drop {drop}, VACUUM event_ids {ids_vacuum}")
    if removed != delete.answer:
        raise SystemExit(f"the two ways removed {delete.answer} and {removed} rows: invalid run")
    before_s, after_s = delete.seconds + vacuum.seconds, drop.seconds + ids_vacuum.seconds
    before_wal, after_wal = (
        delete.wal_bytes + vacuum.wal_bytes,
        drop.wal_bytes + ids_vacuum.wal_bytes,
    )
    return [
        "| measure | DELETE, unpartitioned (before) | partitions dropped (after) | ratio |",
        "| --- | --- | --- | --- |",
        f"| rows removed | {delete.answer:,} | {removed:,} ({dropped} of {partitions_before}"
        f" day partitions dropped, {partitions_after} left) | |",
        f"| seconds | {delete.seconds:.2f} | {drop.seconds:.2f} |"
        f" {against(delete.seconds, drop.seconds, 'faster', 'slower')} |",
        f"| WAL written | {megabytes(delete.wal_bytes)} | {megabytes(drop.wal_bytes)} |"
        f" {against(delete.wal_bytes, drop.wal_bytes, 'less', 'more')} |",
        f"| VACUUM afterwards (events / event_ids): seconds | {vacuum.seconds:.2f} |"
        f" {ids_vacuum.seconds:.2f} | |",
        f"| VACUUM afterwards: WAL | {megabytes(vacuum.wal_bytes)} |"
        f" {megabytes(ids_vacuum.wal_bytes)} | |",
        f"| cleanup and VACUUM together: seconds | {before_s:.2f} | {after_s:.2f} |"
        f" {against(before_s, after_s, 'faster', 'slower')} |",
        f"| cleanup and VACUUM together: WAL | {megabytes(before_wal)} | {megabytes(after_wal)} |"
        f" {against(before_wal, after_wal, 'less', 'more')} |",
        f"| size with indexes before → after | {megabytes(unpartitioned_before)} →"
        f" {megabytes(unpartitioned_after)} | {megabytes(partitioned_before)} →"
        f" {megabytes(partitioned_after)} (event_ids included) | |",
        "",
        f"Load average at the end of the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
        " (1 / 5 / 15 min) on 2 cores.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--keep", type=int, default=90)
    parser.add_argument("--external", action="store_true", help="Use the external server.")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "RESULTS.md")
    options = parser.parse_args()
    print(f"machine: {machine_description()}")
    with tempfile.TemporaryDirectory(prefix="everreach-retention-") as tmp:
        if options.external:
            server_url, server, embedded = EXTERNAL_URL, "external Postgres", None
        else:
            # The embedded server runs as a service user when we are root: let it in.
            os.chmod(tmp, 0o755)
            embedded = start_embedded(Path(tmp) / "pgdata")
            server_url, server = embedded.uri, "embedded Postgres (its own server)"
        try:
            with scratch_database(server_url, "everreach_bench_retention") as url:
                table = run(url, options.events, options.days, options.keep)
        finally:
            if embedded is not None:
                embedded.stop()
    lines = [
        f"## Retention: drop partitions vs DELETE ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Command: `make bench-retention` · machine: {machine_description()} · {server};"
        f" {options.events:,} events over {options.days} days, the oldest"
        f" {options.days - options.keep} days removed (`cleanup_old_events({options.keep})`).",
        "",
        *table,
        "",
    ]
    report(lines, options.results)


if __name__ == "__main__":
    main()

"""A 30-day backfill of the daily assets in scale-out mode, on one and then two `everreach worker`s.

The same days are first materialized in local mode (one in-process run over the range: the
baseline), then submitted as a backfill to a Dagster daemon in celery mode (Redis broker, moto's
S3 server for the files) with one worker, then with a second worker added. The wall time is from
submitting the backfill to Dagster marking it complete; every worker takes one step at a time
(`--concurrency 1`), so the second worker doubles the step slots. The files of every run are
checked byte for byte against the local mode's.

Run with `make bench-backfill` (`BENCH_BACKFILL_ARGS="--users 200 --days-per-run 3"`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.environment import REPO, against, bench_database, machine_description, report
from everreach.datasets.partitions import DatasetStore
from tests.conftest import TEST_JWT_SECRET, make_settings
from tests.dagster_cluster import (
    celery_environment,
    dataset_files,
    days_ending,
    materialize_locally,
    running_cluster,
    s3_store,
    seed_traffic,
)
from tests.s3_server import s3_server

DAYS = 30
BROKER_URL = "redis://127.0.0.1:6379/14"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--days-per-run", type=int, default=5)
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "RESULTS.md")
    options = parser.parse_args()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = days_ending(end, DAYS)
    print(f"machine: {machine_description()}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_database(Path(tmp)) as database,
        s3_server() as s3,
    ):
        local = make_settings(Path(tmp) / "local", database.url, rate_limit_events=10**9)
        requests = seed_traffic(local, database.url, options.users, DAYS, end)
        with psycopg.connect(database.url) as conn:
            events, samples = conn.execute(
                "SELECT (SELECT count(*) FROM app_events), (SELECT count(*) FROM responses)"
            ).fetchone()
        started = time.perf_counter()
        materialize_locally(local, database.url, days)
        local_s = time.perf_counter() - started
        reference = dataset_files(DatasetStore.local(local.datasets_uri), days)
        print(f"{events:,} events, {samples:,} responses; local mode, one run: {local_s:.1f} s")

        home = Path(tmp) / "celery"
        env = celery_environment(
            database.url,
            home,
            s3,
            BROKER_URL,
            f"dagster_bench_{uuid.uuid4().hex[:8]}",
            EVERREACH_JWT_SECRET=TEST_JWT_SECRET,
            EVERREACH_BACKFILL_DAYS_PER_RUN=str(options.days_per_run),
        )
        store = s3_store(env)
        wall: dict[int, float] = {}
        span: dict[int, float] = {}
        nodes: dict[int, set[str]] = {}
        with running_cluster(env, home, database.url, ["w1"]) as cluster:
            for workers in (1, 2):
                if workers == 2:
                    cluster.start_worker("w2")
                    cluster.wait_for_workers()
                started = time.perf_counter()
                backfill_id = cluster.submit_backfill(days)
                status = cluster.wait_for_backfill(backfill_id, timeout_s=3600)
                wall[workers] = time.perf_counter() - started
                span[workers] = cluster.runs_span(backfill_id)
                runs = cluster.backfill_runs(backfill_id)
                assert status.value == "COMPLETED_SUCCESS", (status, cluster.logs)
                assert dataset_files(store, days) == reference, "files differ from local mode"
                nodes[workers] = set(cluster.step_workers([r.run_id for r in runs]).values())
                on = ", ".join(sorted(nodes[workers]))
                print(
                    f"{workers} worker(s): {wall[workers]:.1f} s ({span[workers]:.1f} s of runs),"
                    f" {len(runs)} runs on {on}"
                )

    runs_count = -(-DAYS // options.days_per_run)
    report(
        [
            f"## Backfill of {DAYS} days on Celery workers "
            f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            "",
            f"Command: `make bench-backfill` · machine: {machine_description()} · "
            f"{database.server}; {requests:,} requests replayed ({options.users} users): "
            f"{events:,} events, {samples:,} responses. Celery mode: Dagster daemon, Redis "
            f"broker, moto S3 server, workers with `--concurrency 1`, all on this box; "
            f"{options.days_per_run} days per run ({runs_count} runs, 4 steps each).",
            "",
            "| measure | submitted → complete, s | first run start → last run end, s "
            "| wall ratio to local |",
            "| --- | --- | --- | --- |",
            f"| local mode, one in-process run over the {DAYS} days (baseline) "
            f"| {local_s:.1f} | {local_s:.1f} | 1.0× |",
            *(
                f"| celery mode, {n} worker{'s' if n > 1 else ''} | {wall[n]:.1f} "
                f"| {span[n]:.1f} | {wall[n] / local_s:.1f}× |"
                for n in (1, 2)
            ),
            "",
            "Submitted → complete includes the daemon's backfill tick (every 30 s) at both ends; "
            "the run span does not.",
            f"2 workers against 1 worker: {against(wall[1], wall[2], 'faster', 'slower')}"
            f" submitted to complete, {against(span[1], span[2], 'faster', 'slower')} over the"
            " runs' span. Steps ran on "
            f"{', '.join(sorted(nodes[2]))} with two workers. Files byte-identical to the "
            "local mode's in both runs.",
            "",
        ],
        options.results,
    )


if __name__ == "__main__":
    main()

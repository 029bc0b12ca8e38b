"""Ingest benchmark (`make bench-ingest`): our collector against two baselines in the same run.

1. Throughput: batches of 100 realistic events over HTTP from a separate load process, against
   (a) a naive collector on the same framework (one INSERT per event, commit per request),
   (b) raw `COPY` of the same rows straight into Postgres, and
   (c) an empty collector on the same framework (reads the body, stores nothing): the ceiling
   that uvicorn, Litestar and the load generator leave on this box.
2. Latency: single-event requests at a fixed 500 requests/s for 30 s: p50/p95/p99 and errors.

The collector's rate limit is raised for the run (every synthetic device sends far more than 600
events a minute here); the limiter itself still runs on every request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import psycopg

from api.server import api_subprocess, free_port
from bench.environment import REPO, bench_database, machine_description, report
from everreach_cli.synthetic_traffic import generate_traffic

BATCH = 100
REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def realistic_events(count: int) -> list[dict]:
    """`count` events drawn from the synthetic generator, each with a fresh event id."""
    events: list[dict] = []
    seed = 0
    while len(events) < count:
        for request in generate_traffic(users=500, days=30, seed=seed, faults=False):
            for event in request.events:
                events.append({**event, "event_id": str(uuid.uuid4())})
        seed += 1
    return events[:count]


def run_load(mode: str, url: str, *args: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.load", mode, url, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout)


def count_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM app_events").fetchone()[0]


def truncate(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("TRUNCATE app_events, quarantined_events, prompts, responses, identity_links")


def measure_http(
    label: str,
    args: list[str],
    env: dict[str, str],
    port: int,
    bodies_file: Path,
    events: int,
    concurrency: int,
    database_url: str,
    stores: bool = True,
) -> float:
    truncate(database_url)
    base_url = f"http://127.0.0.1:{port}"
    with api_subprocess(args, env, port, cwd=REPO):
        print(f"  {label}: sending {events} events in batches of {BATCH}...", flush=True)
        result = run_load("throughput", base_url, str(bodies_file), str(concurrency))
    stored = count_rows(database_url) if stores else events
    rate = events / result["seconds"]
    print(
        f"  {label}: {rate:,.0f} events/s ({result['seconds']:.1f} s, "
        f"{result['errors']} errors, {stored} rows stored)",
        flush=True,
    )
    if stored != events or result["errors"]:
        raise SystemExit(f"{label}: expected {events} rows and no errors; the run is invalid")
    return rate


def measure_copy(events: list[dict], database_url: str) -> float:
    truncate(database_url)
    now = datetime.now(UTC)
    columns = "event_id, event_name, anonymous_id, occurred_at, received_at, context, properties"
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY app_events ({columns}) FROM STDIN") as copy:
            for event in events:
                copy.write_row(
                    (
                        event["event_id"],
                        event["name"],
                        event.get("anonymous_id"),
                        event["timestamp"],
                        now,
                        msgspec.json.encode({"platform": event.get("platform")}).decode(),
                        msgspec.json.encode(event["props"]).decode(),
                    )
                )
        conn.commit()
    elapsed = time.perf_counter() - started
    rate = len(events) / elapsed
    print(f"  raw COPY: {rate:,.0f} events/s ({elapsed:.1f} s)", flush=True)
    return rate


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "RESULTS.md")
    options = parser.parse_args()

    print(f"machine: {machine_description()}")
    events = realistic_events(options.events)
    bodies = [
        msgspec.json.encode({"batch": events[i : i + BATCH]}).decode()
        for i in range(0, len(events), BATCH)
    ]
    with tempfile.TemporaryDirectory() as tmp, bench_database(Path(tmp)) as database:
        print(f"database: {database.server}")
        bodies_file = Path(tmp) / "bodies.json"
        bodies_file.write_bytes(msgspec.json.encode(bodies))
        ours_env = {
            "EVERREACH_DATABASE_URL": database.url,
            "EVERREACH_HOME": str(Path(tmp) / "home"),
            "EVERREACH_RATE_LIMIT_EVENTS": "1000000000",
            "EVERREACH_LOG_LEVEL": "WARNING",
        }
        port = free_port()
        ours_args = ["-m", "everreach_cli", "serve", "--port", str(port)]
        print("throughput (batches of 100 over HTTP):")
        ours = measure_http(
            "everreach",
            ours_args,
            ours_env,
            port,
            bodies_file,
            len(events),
            options.concurrency,
            database.url,
        )
        naive_port = free_port()
        naive = measure_http(
            "naive",
            ["-m", "bench.naive_collector", database.url, str(naive_port)],
            {},
            naive_port,
            bodies_file,
            len(events),
            options.concurrency,
            database.url,
        )
        two_workers = None
        if redis_answers(REDIS_URL):
            two_workers = measure_http(
                "everreach, 2 workers",
                [*ours_args, "--workers", "2"],
                {**ours_env, "EVERREACH_REDIS_URL": REDIS_URL},
                port,
                bodies_file,
                len(events),
                options.concurrency,
                database.url,
            )
        copy = measure_copy(events, database.url)
        empty_port = free_port()
        ceiling = measure_http(
            "empty collector",
            ["-m", "bench.empty_collector", str(empty_port)],
            {},
            empty_port,
            bodies_file,
            len(events),
            options.concurrency,
            database.url,
            stores=False,
        )

        print(f"latency (single events at {options.rate:.0f} req/s for {options.seconds:.0f} s):")
        truncate(database.url)
        with api_subprocess(ours_args, ours_env, port, cwd=REPO):
            result = run_load(
                "latency", f"http://127.0.0.1:{port}", str(options.rate), str(options.seconds)
            )
        latencies_ms = [1000 * v for v in result["latencies"]]
        p50, p95, p99 = (percentile(latencies_ms, q) for q in (50, 95, 99))

    lines = [
        f"## Ingest ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Command: `make bench-ingest` · machine: {machine_description()} · {database.server};"
        " API, load generator and Postgres on the same box.",
        "",
        "| measure | value | target |",
        "| --- | --- | --- |",
        f"| everreach collector, 1 process, batches of 100 | {ours:,.0f} events/s | ≥ 20 000 |",
        f"| everreach collector, 2 workers + Redis limit | "
        f"{f'{two_workers:,.0f} events/s' if two_workers else 'not run (no Redis)'} | |",
        f"| naive collector (same framework) | {naive:,.0f} events/s | |",
        f"| raw COPY into app_events | {copy:,.0f} events/s | |",
        f"| empty collector (same framework, stores nothing): the HTTP ceiling | "
        f"{ceiling:,.0f} events/s | |",
        f"| ratio to naive | {ours / naive:.1f}× | ≥ 10× |",
        f"| share of raw COPY | {100 * ours / copy:.0f} % | ≥ 25 % |",
        f"| raw COPY / naive (what storage alone could gain) | {copy / naive:.1f}× | |",
        f"| share of the HTTP ceiling | {100 * ours / ceiling:.0f} % | |",
        f"| single-event latency p50 / p95 / p99 at {result['achieved_rate']:.0f} req/s | "
        f"{p50:.1f} / {p95:.1f} / {p99:.1f} ms | p99 < 20 ms |",
        f"| errors during the latency run | {result['errors']} | 0 |",
        "",
    ]
    report(lines, options.results)


if __name__ == "__main__":
    main()

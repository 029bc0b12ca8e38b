"""CPU per collector request, in process (`make bench-request-cpu`): ours vs the empty app.

The latency and throughput runs of `make bench-ingest` put the API, Postgres and the load
generator on the same two cores, so their figures move with the box (the same code gave p50 2 ms
on one day and a saturated 2 s on another). This measures what the collector's own Python costs
per request, which does not depend on who else runs: requests go straight into the ASGI app (no
HTTP server, no client), the process's CPU time is counted over thousands of them, and the same
is done for the empty collector on the same framework (bench/empty_collector.py) in the same run.
Each variant runs three times, alternating, and the lowest figure counts (the others are the
box's noise). The database work happens in Postgres and is not counted here.

Single events (the `/v1/ingest` single-event case) and batches of 100 realistic events.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar

from api.app import create_app
from bench.empty_collector import healthz, ingest
from bench.environment import REPO, bench_database, machine_description, report
from bench.ingest import BATCH, realistic_events
from bench.load import single_event
from everreach.collector import maintain_event_partitions
from everreach.platform.settings import Settings

ROUNDS = 3


async def _post(app: Litestar, body: bytes) -> int:
    """One POST /v1/ingest through the ASGI interface; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/ingest",
        "raw_path": b"/v1/ingest",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)  # type: ignore[arg-type]
    return status


async def cpu_per_request(app: Litestar, bodies: list[bytes]) -> float:
    """Microseconds of this process's CPU per request, after a warm-up."""
    async with app.lifespan():
        for body in bodies[:50]:
            await _post(app, body)
        started = time.process_time()
        for body in bodies:
            status = await _post(app, body)
            if status != 200:
                raise SystemExit(f"the app answered {status}; the run is invalid")
        return 1e6 * (time.process_time() - started) / len(bodies)


def best_of(apps: dict[str, Callable[[], Litestar]], bodies: list[bytes]) -> dict[str, float]:
    """The lowest CPU per request of each app over ROUNDS alternating runs."""
    best = dict.fromkeys(apps, float("inf"))
    for _ in range(ROUNDS):
        for name, make in apps.items():
            best[name] = min(best[name], asyncio.run(cpu_per_request(make(), bodies)))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="single-event requests")
    parser.add_argument("--batches", type=int, default=300, help="requests of 100 events")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "RESULTS.md")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, bench_database(Path(tmp)) as database:
        maintain_event_partitions(database.url, keep_days=90, ahead_days=14)
        os.environ.update(
            {
                "EVERREACH_HOME": str(Path(tmp) / "home"),
                "EVERREACH_RATE_LIMIT_EVENTS": "1000000000",
                "EVERREACH_LOG_LEVEL": "ERROR",
            }
        )
        apps: dict[str, Callable[[], Litestar]] = {
            "empty": lambda: Litestar([ingest, healthz]),
            "everreach": lambda: create_app(Settings(), database.url),
        }
        print(f"single events: {options.requests} requests per run, {ROUNDS} runs", flush=True)
        single = best_of(apps, [single_event() for _ in range(options.requests)])
        events = realistic_events(BATCH * options.batches)
        batches = [
            msgspec.json.encode({"batch": events[i : i + BATCH]})
            for i in range(0, len(events), BATCH)
        ]
        print(f"batches of {BATCH}: {options.batches} requests per run", flush=True)
        batched = best_of(apps, batches)

    rows = [
        f"| single event | {single['everreach']:,.0f} µs | {single['empty']:,.0f} µs |"
        f" {single['everreach'] - single['empty']:,.0f} µs |",
        f"| batch of {BATCH} | {batched['everreach']:,.0f} µs"
        f" ({batched['everreach'] / BATCH:.1f} µs/event) | {batched['empty']:,.0f} µs |"
        f" {(batched['everreach'] - batched['empty']) / BATCH:.1f} µs/event |",
    ]
    print("\n".join(rows))
    report(
        [
            f"## Collector CPU per request, in process ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            "",
            f"Command: `make bench-request-cpu` · machine: {machine_description()} ·"
            f" {database.server}; requests straight into the ASGI app, the process's CPU time,"
            f" lowest of {ROUNDS} alternating runs; Postgres's own work is not counted.",
            "",
            "| request | everreach | empty app, same framework | ours on top |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ],
        options.results,
    )


if __name__ == "__main__":
    main()

"""Forwarding benchmark (`make bench-forwarding`): outbox delivery rate, batched vs one by one.

The outbox of a fresh database is filled with realistic events for PostHog; a forwarder (the
real worker, its own pool) delivers them to a local HTTP receiver on 127.0.0.1 that counts what
it gets. Measured twice in the same run: with batches of 100 (our setting) and with batches of 1,
the baseline (one request per event, as the original fire-and-forget collector sent them).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import psycopg
from litestar import Litestar, Request, post

from api.server import serve_in_thread
from bench.environment import bench_database, machine_description
from bench.ingest import realistic_events
from everreach.collector.pipeline import PreparedEvent
from everreach.forwarding.outbox import enqueue_deliveries
from everreach.forwarding.worker import run_forwarder
from everreach.platform.settings import Settings

RECEIVED = {"events": 0}


@post("/batch/", status_code=200)
async def batch(request: Request) -> dict[str, int]:
    body = msgspec.json.decode(await request.body())
    RECEIVED["events"] += len(body["batch"])
    return {"status": 1}


async def fill_outbox(database_url: str, count: int) -> None:
    now = datetime.now(UTC)
    events = [
        PreparedEvent(
            event_id=uuid.uuid4(),
            name=e["name"],
            user_id=None,
            anonymous_id="bench-device",
            occurred_at=now,
            sent_at=None,
            received_at=now,
            context={},
            properties=e["props"],
        )
        for e in realistic_events(count)
    ]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:  # commits on exit
        await conn.execute("TRUNCATE outbox")
        await enqueue_deliveries(conn, events, ["posthog"])


async def deliver(settings: Settings, database_url: str, count: int) -> float:
    """Seconds for the forwarder to deliver `count` events (reported every second)."""
    RECEIVED["events"] = 0
    stop = asyncio.Event()
    started = time.perf_counter()
    worker = asyncio.create_task(run_forwarder(settings, database_url, stop))
    while RECEIVED["events"] < count:
        await asyncio.sleep(0.2)
        print(f"  delivered {RECEIVED['events']}/{count}", end="\r", flush=True)
    elapsed = time.perf_counter() - started
    stop.set()
    await worker
    print()
    return elapsed


def measure(database_url: str, home: Path, receiver: str, batch_size: int, count: int) -> float:
    settings = Settings(
        home=home,
        database_url=database_url,
        posthog_api_key="phc_bench",
        posthog_host=receiver,
        forward_batch_size=batch_size,
        forward_poll_interval_s=0.05,
    )
    asyncio.run(fill_outbox(database_url, count))
    print(f"batch size {batch_size}: {count} events")
    seconds = asyncio.run(deliver(settings, database_url, count))
    rate = count / seconds
    print(f"  {seconds:.2f} s, {rate:,.0f} events/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events, batched run")
    parser.add_argument("--baseline-events", type=int, default=2_000, help="events, batch of 1")
    args = parser.parse_args()
    print(machine_description())
    with (
        tempfile.TemporaryDirectory() as tmp,
        bench_database(Path(tmp)) as database,
        serve_in_thread(Litestar([batch])) as receiver,
    ):
        print(f"database: {database.server}; receiver: {receiver}")
        baseline = measure(database.url, Path(tmp), receiver, 1, args.baseline_events)
        ours = measure(database.url, Path(tmp), receiver, 100, args.events)
    print(f"ratio (batches of 100 / one per request): {ours / baseline:.1f}x")


if __name__ == "__main__":
    main()

"""Suppression-lookup benchmark (`make bench-suppression`): what refusing erased people
costs the collector.

Every collector request looks its distinct user and anonymous ids up in
`suppressed_identifiers` (keyed hashes) before storing. This measures that lookup against the
store statement it precedes, on the same connection, in the same run: a single event (the
`/v1/ingest` single-event case) and a batch of 100 events from one device, with 10 000
identifiers suppressed. Prints p50 / p99 of each and the lookup's share of the request's
database time.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from psycopg import AsyncConnection

from bench.environment import REPO, bench_database, machine_description, report
from everreach.collector.event_store import store_request
from everreach.collector.pipeline import AttributedEvent, RequestContext, prepare_events
from everreach.collector.submission import PreparedSubmission
from everreach.collector.suppressed_events import withhold_suppressed
from everreach.collector.wire import WireEvent
from everreach.plan import TrackingPlan, load_plan
from everreach.privacy import IdentifierHasher, Pseudonymizer

ROUNDS = 1000
SUPPRESSED = 10_000
RESULTS = REPO / "bench" / "RESULTS.md"


def request(plan: TrackingPlan, events: int) -> PreparedSubmission:
    user, device = str(uuid.uuid4()), f"device-{uuid.uuid4()}"
    wire = [
        AttributedEvent(
            WireEvent(
                name="message_sent",
                props={"contact_id": "c1", "channel": "sms"},
                event_id=uuid.uuid4(),
                anonymous_id=device,
            ),
            user,
        )
        for _ in range(events)
    ]
    context = RequestContext(client_ip="127.0.0.1", received_at=datetime.now(UTC))
    prepared = prepare_events(
        wire,
        context,
        None,
        plan,
        skew_threshold_s=300,
        max_text_chars=5000,
        pseudonyms=Pseudonymizer("bench-pseudonym-key-0123456789"),
    )
    return PreparedSubmission("collector", prepared, [], {})


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return statistics.median(samples) * 1000, cuts[98] * 1000


async def measure(url: str, events: int) -> tuple[list[float], list[float]]:
    plan = load_plan(None)
    hasher = IdentifierHasher("bench-key")
    lookups: list[float] = []
    stores: list[float] = []
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        for _ in range(ROUNDS):
            prepared = request(plan, events)
            started = time.perf_counter()
            prepared, refused = await withhold_suppressed(conn, hasher, prepared)
            looked_up = time.perf_counter()
            await store_request(conn, prepared.events, datetime.now(UTC))
            stored = time.perf_counter()
            assert not refused
            lookups.append(looked_up - started)
            stores.append(stored - looked_up)
    return lookups, stores


async def suppress_many(url: str) -> None:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        receipt = uuid.uuid4()
        await conn.execute(
            "INSERT INTO erasure_receipts (receipt_id, subject_hash, requested_by, deleted_rows,"
            " days) VALUES (%s, '\\x00', 'bench', '{}', '{}')",
            (receipt,),
        )
        hasher = IdentifierHasher("bench-key")
        hashes = [hasher(f"erased-{n}") for n in range(SUPPRESSED)]
        await conn.execute(
            "INSERT INTO suppressed_identifiers (identifier_hash, kind, receipt_id)"
            " SELECT h, 'user_id', %s FROM unnest(%s::bytea[]) AS h",
            (receipt, hashes),
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, bench_database(Path(tmp)) as database:
        asyncio.run(suppress_many(database.url))
        rows = []
        for events in (1, 100):
            lookups, stores = asyncio.run(measure(database.url, events))
            lookup, store = quantiles(lookups), quantiles(stores)
            share = statistics.median(lookups) / statistics.median(
                [a + b for a, b in zip(lookups, stores, strict=True)]
            )
            rows.append(
                f"| {events} event(s) | {lookup[0]:.2f} / {lookup[1]:.2f} ms "
                f"| {store[0]:.2f} / {store[1]:.2f} ms | {share:.0%} |"
            )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report(
        [
            f"## Suppression lookup ({stamp})",
            "",
            f"Command: `make bench-suppression` · machine: {machine_description()} · "
            f"{database.server}; {ROUNDS} requests per size, {SUPPRESSED:,} identifiers "
            "suppressed, one connection.",
            "",
            "| request | lookup p50 / p99 | store p50 / p99 (baseline) | lookup share (p50) |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ],
        RESULTS,
    )


if __name__ == "__main__":
    main()

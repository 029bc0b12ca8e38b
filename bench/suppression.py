"""Suppression benchmark (`make bench-suppression`): what refusing erased people costs the
collector.

Every collector request checks its distinct user and anonymous ids against
`suppressed_identifiers` (keyed hashes). For plan events the check is part of the store
statement itself (one round trip); a request that also carries identity links or system events
looks the ids up first, in a statement of its own. This measures both ways, with 10 000
identifiers suppressed, on one connection in the same run: a single event (the `/v1/ingest`
single-event case) and a batch of 100 events from one device. Prints p50 / p99 wall time and
the client's CPU per request.
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
from everreach.collector.pipeline import (
    AttributedEvent,
    Outcome,
)
from everreach.collector.submission import PreparedSubmission
from everreach.collector.suppressed_events import withhold_suppressed
from everreach.collector.wire import WireEvent
from everreach.privacy import IdentifierHasher
from tests.helpers import prepared

ROUNDS = 1000
SUPPRESSED = 10_000
ERASED = "erased-7"  # one of the suppressed identifiers
RESULTS = REPO / "bench" / "RESULTS.md"


def request(events: int, user: str | None = None) -> PreparedSubmission:
    user, device = user or str(uuid.uuid4()), f"device-{uuid.uuid4()}"
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
    return PreparedSubmission("collector", prepared(wire), [], {})


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return statistics.median(samples) * 1000, cuts[98] * 1000


async def measure(url: str, events: int, lookup_first: bool) -> tuple[list[float], float]:
    """Per-request wall times, and the client's CPU per request (ms), storing ROUNDS requests;
    with `lookup_first`, each looks its ids up in a statement of its own before the store."""
    hasher = IdentifierHasher("bench-key")
    times: list[float] = []
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        cpu_started = time.process_time()
        for _ in range(ROUNDS):
            submission = request(events)
            started = time.perf_counter()
            if lookup_first:
                submission, refused = await withhold_suppressed(conn, hasher, submission)
                assert not refused
            results = await store_request(conn, submission.events, hasher)
            times.append(time.perf_counter() - started)
            assert all(r.status is Outcome.ACCEPTED for r in results)
        cpu_ms = 1000 * (time.process_time() - cpu_started) / ROUNDS
        # Both ways must refuse an erased person, or their speed means nothing.
        erased = request(1, user=ERASED)
        results = await store_request(conn, erased.events, hasher)
        assert [r.status for r in results] == [Outcome.SUPPRESSED]
    return times, cpu_ms


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
            inside, inside_cpu = asyncio.run(measure(database.url, events, lookup_first=False))
            first, first_cpu = asyncio.run(measure(database.url, events, lookup_first=True))
            (in50, in99), (first50, first99) = quantiles(inside), quantiles(first)
            rows.append(
                f"| {events} event(s) | {in50:.2f} / {in99:.2f} ms, {inside_cpu:.2f} ms CPU "
                f"| {first50:.2f} / {first99:.2f} ms, {first_cpu:.2f} ms CPU "
                f"| {first50 / in50:.2f}× |"
            )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report(
        [
            f"## Suppression check ({stamp})",
            "",
            f"Command: `make bench-suppression` · machine: {machine_description()} · "
            f"{database.server}; {ROUNDS} requests per size and way, {SUPPRESSED:,} identifiers "
            "suppressed, one connection; CPU is the client's (the collector's Python) per request.",
            "",
            "| request | check inside the store statement: p50 / p99 | lookup first, then store"
            " (requests with identity links) | p50 ratio |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ],
        RESULTS,
    )


if __name__ == "__main__":
    main()

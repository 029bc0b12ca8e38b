"""The store alone at the latency runs' rate: the database's share of a single event's latency.

Single-event requests (the load generator's bodies, decoded and prepared by the collector's own
pipeline beforehand) are stored through `GroupCommit` on a pool in this process, with no HTTP
and no API process, at a fixed arrival rate, open loop: each latency counts from when the
request was due. It is what the statement and its durable commit cost at that rate on this box:
no collector that stores a request before answering it can answer faster than this.
"""

from __future__ import annotations

import gc
import time

import uvloop
from psycopg_pool import AsyncConnectionPool

from bench.load import open_loop, single_event
from everreach.collector import AttributedEvent, GroupCommit, decode_request
from everreach.collector.pipeline import PreparedEvent
from everreach.privacy import IdentifierHasher
from tests.helpers import prepared


def _requests(count: int) -> list[list[PreparedEvent]]:
    return [
        prepared(
            [AttributedEvent(event, None) for event in decode_request(single_event(), 1).events]
        )
        for _ in range(count)
    ]


async def _run(database_url: str, rate: float, seconds: float) -> list[float]:
    requests = _requests(int(rate * seconds))
    # Thousands of prepared requests held for the run: a full collection scanning them paused
    # this process 10-30 ms, charged to the store. The API freezes its start-up heap the same way.
    gc.freeze()
    latencies: list[float] = []
    async with AsyncConnectionPool(
        database_url, min_size=2, max_size=10, kwargs={"autocommit": True}
    ) as pool:
        writer = GroupCommit(pool, IdentifierHasher("bench-privacy-key"))

        async def one(due: float, events: list[PreparedEvent]) -> None:
            await writer.store(events)
            latencies.append(time.perf_counter() - due)

        await open_loop(rate, requests, one)
    return latencies


def store_latencies(database_url: str, rate: float, seconds: float) -> list[float]:
    """Seconds from due to stored, for every request of the run."""
    try:
        return uvloop.run(_run(database_url, rate, seconds))
    finally:
        gc.unfreeze()

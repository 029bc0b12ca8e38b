"""The outbox table's operations: enqueue, claim, record outcomes, redrive, report, clean up.

Each function is one statement from `sql/outbox_*.sql` on a connection the caller
owns: `enqueue_deliveries` runs inside the collector's transaction; the worker's calls each run
in a short transaction of their own, never across an HTTP request.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import class_row

from everreach.forwarding.destinations import PAYLOADS
from everreach.platform.sql_files import sql_folder

if TYPE_CHECKING:  # the collector imports this module: the type alone would make a cycle
    from everreach.collector.pipeline import PreparedEvent

query = sql_folder(__package__)

PURGE_SLICE = 5000

_json = msgspec.json.Encoder()


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    event_id: uuid.UUID
    payload: dict[str, Any]
    attempts: int  # including the attempt this claim is for
    queued_for_s: float  # since the row entered the queue (its retry window started)


@dataclass(frozen=True)
class Claim:
    lease_id: uuid.UUID
    rows: list[ClaimedRow]


@dataclass(frozen=True)
class DestinationStatus:
    destination: str
    pending: int
    in_flight: int
    retrying: int
    dead: int
    delivered: int
    oldest_pending_s: float | None


def delivery_rows(
    events: Sequence[PreparedEvent], destinations: Collection[str]
) -> list[dict[str, Any]]:
    """A delivery row (destination, event_id, payload) per destination for each event."""
    return [
        {"destination": destination, "event_id": event.event_id, "payload": build(event)}
        for destination, build in ((d, PAYLOADS[d]) for d in destinations)
        for event in events
    ]


async def enqueue_deliveries(
    conn: AsyncConnection, events: Sequence[PreparedEvent], destinations: Collection[str]
) -> None:
    """Write a delivery row per destination for each event (the collector does the same inside
    its one store statement; this is for callers that enqueue on their own)."""
    if events and destinations:
        rows = delivery_rows(events, destinations)
        await conn.execute(query("outbox_enqueue"), {"rows": _json.encode(rows).decode()})


async def claim(conn: AsyncConnection, destination: str, limit: int, lease_s: float) -> Claim:
    """Take up to `limit` due rows of `destination` for `lease_s` seconds."""
    lease_id = uuid.uuid4()
    cursor = conn.cursor(row_factory=class_row(ClaimedRow))
    await cursor.execute(
        query("outbox_claim"),
        {"destination": destination, "limit": limit, "lease_id": lease_id, "lease_s": lease_s},
    )
    rows = await cursor.fetchall()
    rows.sort(key=lambda row: row.id)
    return Claim(lease_id, rows)


async def mark_delivered(conn: AsyncConnection, ids: list[int]) -> None:
    await conn.execute(query("outbox_mark_delivered"), {"id": ids})


async def reschedule(
    conn: AsyncConnection, lease_id: uuid.UUID, delays_s: dict[int, float], error: str
) -> None:
    """Put claimed rows back in the queue, each due after its own delay."""
    await conn.execute(
        query("outbox_reschedule"),
        {
            "lease_id": lease_id,
            "id": list(delays_s),
            "delay_s": list(delays_s.values()),
            "error": error,
        },
    )


async def bury(conn: AsyncConnection, lease_id: uuid.UUID, ids: list[int], error: str) -> None:
    """Move claimed rows to the dead letter with the error that put them there."""
    await conn.execute(query("outbox_bury"), {"lease_id": lease_id, "id": ids, "error": error})


async def redrive(conn: AsyncConnection, destination: str | None = None) -> int:
    """Requeue dead rows (of one destination, or all); returns how many."""
    cursor = await conn.execute(query("outbox_redrive"), {"destination": destination})
    return cursor.rowcount


async def status(conn: AsyncConnection) -> list[DestinationStatus]:
    cursor = conn.cursor(row_factory=class_row(DestinationStatus))
    await cursor.execute(query("outbox_status"))
    return await cursor.fetchall()


async def oldest_pending_s(conn: AsyncConnection) -> dict[str, float]:
    cursor = await conn.execute(query("outbox_oldest_pending"))
    return {destination: age for destination, age in await cursor.fetchall()}


async def purge_delivered(
    conn: AsyncConnection, older_than_s: float, limit: int = PURGE_SLICE
) -> int:
    """Delete up to `limit` delivered rows older than the retention; returns how many.

    Bounded so that a large backlog is deleted in several short transactions, not one long one.
    """
    cursor = await conn.execute(
        query("outbox_purge_delivered"), {"older_than_s": older_than_s, "limit": limit}
    )
    return cursor.rowcount

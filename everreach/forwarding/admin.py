"""Operator views of the outbox for the CLI: `everreach outbox status` and `redrive`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from psycopg import AsyncConnection

from everreach.forwarding import outbox
from everreach.forwarding.outbox import DestinationStatus

T = TypeVar("T")

COLUMNS = ("destination", "pending", "in_flight", "retrying", "dead", "delivered", "oldest")


def _with_connection(database_url: str, call: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async def run() -> T:
        async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
            return await call(conn)

    return asyncio.run(run())


def read_status(database_url: str) -> list[DestinationStatus]:
    return _with_connection(database_url, outbox.status)


def redrive_dead(database_url: str, destination: str | None) -> int:
    """Requeue dead rows (all destinations, or one); returns how many."""
    return _with_connection(database_url, lambda conn: outbox.redrive(conn, destination))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def format_status(rows: list[DestinationStatus]) -> str:
    """A plain table, one line per destination; `oldest` is the oldest pending event's age."""
    if not rows:
        return "the outbox is empty"
    table = [COLUMNS] + [
        (
            r.destination,
            str(r.pending),
            str(r.in_flight),
            str(r.retrying),
            str(r.dead),
            str(r.delivered),
            _age(r.oldest_pending_s),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )

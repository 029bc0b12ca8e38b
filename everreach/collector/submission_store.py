"""Writing a prepared submission: plan events, SDK system events and identity links, together.

Plan events go through `event_store.store_request` (app_events, quarantine, prompts, responses,
and whatever else it writes for them); system events go to `sdk_system_events`; identity links
to `identity_links`. A request with only plan events is one statement (its own transaction,
shared with the requests waiting with it: group_commit.py); otherwise one transaction holds all
three, so a request is stored whole or not at all.
"""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection

from everreach.collector.event_store import (
    event_row,
    json_rows,
    store_identity_links,
    store_request,
)
from everreach.collector.group_commit import GroupCommit
from everreach.collector.pipeline import EventResult, Outcome, PreparedEvent
from everreach.collector.submission import PreparedSubmission
from everreach.collector.suppressed_events import withhold_suppressed
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)


async def store_system_events(
    conn: AsyncConnection, source: str, events: list[PreparedEvent]
) -> list[EventResult]:
    """Insert system events (deduplicated by event_id) and say which were new."""
    fresh = [e for e in events if not e.duplicate_in_request]
    inserted: set[uuid.UUID] = set()
    if fresh:
        cursor = await conn.execute(
            query("insert_sdk_system_events"),
            {"source": source, "rows": json_rows(map(event_row, fresh))},
        )
        inserted = {row[0] for row in await cursor.fetchall()}
    return [
        EventResult(
            e.event_id,
            Outcome.ACCEPTED
            if e.event_id in inserted and not e.duplicate_in_request
            else Outcome.DUPLICATE,
        )
        for e in events
    ]


async def store_submission(writer: GroupCommit, prepared: PreparedSubmission) -> list[EventResult]:
    """Store everything a request carries in one transaction; one result per event.

    Nothing of an erased person (ids suppressed under the writer's keyed hashes) is stored: their
    events get the result `suppressed`. The writer's `forward_to` names the destinations whose
    outbox rows for the accepted plan events commit with them.
    """
    if not prepared.identity_links and not prepared.system_events:
        # The common case (/v1/ingest): one statement, shared with the requests waiting with it.
        return await writer.store(prepared.events)
    async with writer.pool.connection() as conn, conn.transaction():
        # Links are written before the plan events, so suppression is looked up first here.
        prepared, suppressed = await withhold_suppressed(conn, writer.hasher, prepared)
        # Explicit identify/alias links first: for a pair also seen on a plan event, the call
        # that made the link names it (source), rather than the event that merely carried it.
        await store_identity_links(conn, prepared.identity_links)
        results = await store_request(conn, prepared.events, writer.hasher, writer.forward_to)
        if prepared.system_events:
            results += await store_system_events(conn, prepared.source, prepared.system_events)
    return results + suppressed

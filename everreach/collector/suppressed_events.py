"""Withhold the events of erased people before anything is stored.

After an erasure (`everreach.privacy.erasure`) the person's user id and anonymous ids are
suppressed: events still arriving under either (plan events, SDK system events, identify/alias
links) get the per-event result `suppressed` and are neither stored, quarantined nor forwarded.
One indexed lookup of the request's distinct identifiers, by keyed hash, on the connection that
then stores the rest.
"""

from __future__ import annotations

from dataclasses import replace

from psycopg import AsyncConnection

from everreach.collector.pipeline import EventResult, Outcome, PreparedEvent
from everreach.collector.submission import PreparedSubmission
from everreach.privacy.suppression import IdentifierHasher, suppressed_among


def _identifiers(prepared: PreparedSubmission) -> set[str | None]:
    ids: set[str | None] = set()
    for event in prepared.all_events:
        ids.update((event.user_id, event.anonymous_id))
    for anonymous_id, user_id in prepared.identity_links:
        ids.update((anonymous_id, user_id))
    return ids


async def withhold_suppressed(
    conn: AsyncConnection, hasher: IdentifierHasher, prepared: PreparedSubmission
) -> tuple[PreparedSubmission, list[EventResult]]:
    """The submission without the suppressed people's events and links, and their results."""
    suppressed = await suppressed_among(conn, hasher, _identifiers(prepared))
    if not suppressed:
        return prepared, []

    def refused(event: PreparedEvent) -> bool:
        return event.user_id in suppressed or event.anonymous_id in suppressed

    results = [
        EventResult(event.event_id, Outcome.SUPPRESSED)
        for event in prepared.all_events
        if refused(event)
    ]
    kept = replace(
        prepared,
        events=[e for e in prepared.events if not refused(e)],
        system_events=[e for e in prepared.system_events if not refused(e)],
        identity_links={
            pair: link
            for pair, link in prepared.identity_links.items()
            if not suppressed.intersection(pair)
        },
    )
    return kept, results

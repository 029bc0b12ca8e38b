"""Withhold the events of erased people: nothing of theirs is stored.

After an erasure (`everreach.privacy.erasure`) the person's user id and anonymous ids are
suppressed: events still arriving under either (plan events, SDK system events, identify/alias
links) get the per-event result `suppressed` and are neither stored, quarantined nor forwarded.

Plan events are checked inside the statement that stores them (`sql/store_events.sql` joins the
request's identifiers, sent with their keyed hashes, to `suppressed_identifiers`): the common
request costs one round trip, not a lookup and then a store. A request that also carries
identity links or system events looks its identifiers up first (`withhold_suppressed`), since
those rows are written before the plan events, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from operator import attrgetter

import msgspec
from psycopg import AsyncConnection

from everreach.collector.pipeline import EventResult, Outcome, PreparedEvent
from everreach.collector.submission import PreparedSubmission
from everreach.privacy.suppression import IdentifierHasher, suppressed_among

_json = msgspec.json.Encoder()
_USER_ID = attrgetter("user_id")
_ANONYMOUS_ID = attrgetter("anonymous_id")


def identifiers_of(events: Sequence[PreparedEvent]) -> set[str | None]:
    """The user and anonymous ids the events are stored under."""
    ids: set[str | None] = set(map(_USER_ID, events))  # in C: no Python step per event
    ids.update(map(_ANONYMOUS_ID, events))
    return ids


def hashed_identifiers(hasher: IdentifierHasher, identifiers: Iterable[str | None]) -> str:
    """The store statement's `identifiers` parameter: the ids and their keyed hashes (hex), as
    the column arrays in which that statement takes its rows (see event_store.json_columns)."""
    ids = [i for i in identifiers if i]
    return _json.encode({"identifier": ids, "hash": [hasher(i).hex() for i in ids]}).decode()


def is_suppressed(event: PreparedEvent, suppressed: set[str]) -> bool:
    """Whether the event belongs to an erased person (either of its ids is suppressed)."""
    return event.user_id in suppressed or event.anonymous_id in suppressed


async def withhold_suppressed(
    conn: AsyncConnection, hasher: IdentifierHasher, prepared: PreparedSubmission
) -> tuple[PreparedSubmission, list[EventResult]]:
    """The submission without the suppressed people's events and links, and their results."""
    ids = identifiers_of(prepared.all_events)
    for anonymous_id, user_id in prepared.identity_links:
        ids.update((anonymous_id, user_id))
    suppressed = await suppressed_among(conn, hasher, ids)
    if not suppressed:
        return prepared, []
    results = [
        EventResult(event.event_id, Outcome.SUPPRESSED)
        for event in prepared.all_events
        if is_suppressed(event, suppressed)
    ]
    kept = replace(
        prepared,
        events=[e for e in prepared.events if not is_suppressed(e, suppressed)],
        system_events=[e for e in prepared.system_events if not is_suppressed(e, suppressed)],
        identity_links={
            pair: link
            for pair, link in prepared.identity_links.items()
            if not suppressed.intersection(pair)
        },
    )
    return kept, results

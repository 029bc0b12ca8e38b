"""Writing a prepared request to Postgres: events, quarantine, prompts and responses together.

Everything a request produces is one statement (`sql/store_events.sql`, data-modifying CTEs):
one round trip and one transaction whatever the request's size, and a failure stores nothing.
Each table's rows travel as one JSON object of column arrays, which the statement zips back into
rows (`json_columns`).
Deduplication is the database's: app_events is partitioned by day, so the dedup key lives in
`event_ids` (one narrow row per stored event, across every partition); `ON CONFLICT (event_id) DO
NOTHING` there with `RETURNING` tells new events from ones already stored, across requests and
across time (a retry whose skew-corrected occurred_at falls on another day included), and only the
new events, and their side rows (outbox, prompts, responses, identity links), are stored.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

import msgspec
from psycopg import AsyncConnection, AsyncRawCursor

from everreach.collector.pipeline import EventResult, Outcome, PreparedEvent, quarantine_record
from everreach.collector.suppressed_events import (
    hashed_identifiers,
    identifiers_of,
    is_suppressed,
)
from everreach.forwarding.outbox import delivery_rows
from everreach.platform.sql_files import sql_folder
from everreach.privacy.suppression import IdentifierHasher

query = sql_folder(__package__)

_json = msgspec.json.Encoder()

PROMPT_EVENT = "prompt_submitted"
RESPONSE_EVENT = "ai_response_generated"
SIGNUP_EVENT = "signup_completed"


def json_rows(rows: Iterable[Any]) -> str:
    """Rows as the one JSON array parameter that the `json_to_recordset` statements take.

    One msgspec encode replaces psycopg's per-element array adaptation, which profiling showed
    to be half of the collector's CPU time.
    """
    return _json.encode(list(rows)).decode()


def json_columns(rows: Sequence[Any], columns: dict[str, Callable[[Any], Any]]) -> str:
    """`rows` as the JSON object of column arrays that the store statement reads,
    `{"column": [its value in each row], ...}`, each column's values taken by its getter.

    Columns rather than one object per row: Postgres parses the whole parameter once as jsonb
    and zips the arrays back into rows, where `json_to_recordset` built a hash table for every
    row and parsed each properties object twice. Building one list per column, in C through
    `map`, is also cheaper here than a dict per row.
    """
    return _json.encode({name: list(map(get, rows)) for name, get in columns.items()}).decode()


def _keys(*names: str) -> dict[str, Callable[[Any], Any]]:
    """Getters of the columns of rows built as dicts, one per key."""
    return {name: itemgetter(name) for name in names}


_EVENT_COLUMNS: dict[str, Callable[[Any], Any]] = {
    "event_id": attrgetter("event_id"),
    "event_name": attrgetter("name"),
    "user_id": attrgetter("user_id"),
    "anonymous_id": attrgetter("anonymous_id"),
    "occurred_at": attrgetter("occurred_at"),
    "sent_at": attrgetter("sent_at"),
    "received_at": attrgetter("received_at"),
    "context": attrgetter("context"),
    "properties": attrgetter("properties"),
    "verified": attrgetter("verified"),
}
"""The app_events columns the store statement takes, read straight off each PreparedEvent."""


def _who(event: PreparedEvent) -> dict[str, Any]:
    """The columns that identify an event and its person, in every event table.

    Callers add their own columns to the dict it returns: one dict per row, no merged copies
    (rows are built for every event of every request).
    """
    return {
        "event_id": event.event_id,
        "event_name": event.name,
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
    }


def event_row(event: PreparedEvent) -> dict[str, Any]:
    """The columns an event log row has (app_events; sdk_system_events has all but verified),
    as one dict: the row form of `_EVENT_COLUMNS`, for the statements that take rows."""
    return {column: get(event) for column, get in _EVENT_COLUMNS.items()}


_PROMPT_COLUMNS = _keys(
    "event_id",
    "seq",
    "prompt_id",
    "user_id",
    "session_id",
    "contact_id",
    "text",
    "model",
    "temperature",
    "tags",
    "created_at",
)
_RESPONSE_COLUMNS = _keys(
    "event_id",
    "seq",
    "response_id",
    "prompt_id",
    "user_id",
    "model",
    "text",
    "tokens_out",
    "finish_reason",
    "cost_usd",
    "latency_ms",
    "created_at",
)
_LINK_COLUMNS = _keys("event_id", "seq", "anonymous_id", "user_id", "source", "seen_at")
_QUARANTINE_COLUMNS = _keys(
    "event_id", "event_name", "user_id", "anonymous_id", "raw", "reasons", "received_at"
)
_DELIVERY_COLUMNS = _keys("destination", "event_id", "payload")


# A UUID in the form the encoder writes one (8-4-4-4-12 lower-case hex): such a string goes into
# the JSON parameter as it is, byte for byte what uuid.UUID(...) would have been encoded as.
# Parsing it into a UUID cost 2 µs (uuid.UUID.__init__ is Python), for two of every seven events.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value: object) -> uuid.UUID | str:
    """`value` as the uuid column's JSON value: itself when canonical, else parsed (ValueError
    when it is no UUID)."""
    if type(value) is str and _CANONICAL_UUID.fullmatch(value) is not None:
        return value
    return uuid.UUID(str(value))


def _prompt_row(event: PreparedEvent) -> dict[str, Any]:
    props = event.properties
    temperature = props.get("temperature")
    return {
        "prompt_id": _uuid(props["prompt_id"]),
        "user_id": event.user_id,
        "session_id": props.get("session_id"),
        "contact_id": props.get("contact_id"),
        "text": props["text"],
        "model": props.get("model"),
        "temperature": float(temperature) if temperature is not None else None,
        "tags": props.get("tags") or [],
        "created_at": event.occurred_at,
    }


def _response_row(event: PreparedEvent) -> dict[str, Any]:
    props = event.properties
    return {
        "response_id": _uuid(props["response_id"]),
        "prompt_id": _uuid(props["prompt_id"]),
        "user_id": event.user_id,
        "model": props.get("model"),
        "text": props["text"],
        "tokens_out": props.get("tokens_out"),
        "finish_reason": props.get("finish_reason"),
        "cost_usd": props.get("cost_usd"),
        "latency_ms": props.get("latency_ms"),
        "created_at": event.occurred_at,
    }


def _link_rows(events: list[PreparedEvent]) -> list[dict[str, Any]]:
    """anonymous_id -> user_id pairs the events reveal, in request order (the first wins).

    An authenticated event carrying the device's anonymous_id links the two; so does
    signup_completed, whose `user_id` property names the account a pre-auth device just created.
    """
    rows: list[dict[str, Any]] = []
    for event in events:
        if not event.anonymous_id:
            continue
        if event.user_id:
            rows.append(_link_row(event, event.user_id, "event", len(rows)))
        signed_up_as = event.properties.get("user_id") if event.name == SIGNUP_EVENT else None
        if isinstance(signed_up_as, str) and signed_up_as:
            rows.append(_link_row(event, signed_up_as, "signup", len(rows)))
    return rows


def _link_row(event: PreparedEvent, user_id: str, source: str, seq: int) -> dict[str, Any]:
    """One link row; `seq` is its position among the request's links."""
    return {
        "event_id": event.event_id,
        "anonymous_id": event.anonymous_id,
        "seen_at": event.occurred_at,
        "user_id": user_id,
        "source": source,
        "seq": seq,
    }


async def store_identity_links(
    conn: AsyncConnection, links: dict[tuple[str, str], tuple[str, datetime]]
) -> None:
    """Insert links (ignoring ones already known); used by every collector endpoint."""
    if links:
        rows = (
            {"anonymous_id": anonymous_id, "user_id": user_id, "source": source, "seen_at": seen}
            for (anonymous_id, user_id), (source, seen) in links.items()
        )
        await conn.execute(query("insert_identity_links"), {"rows": json_rows(rows)})


def _side_rows(
    events: list[PreparedEvent], name: str, to_row: Callable[[PreparedEvent], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows for the events named `name`, tagged with their event and position in the request
    (the statement keeps the rows of new events only, the last one per key)."""
    rows: list[dict[str, Any]] = []
    for seq, event in enumerate(events):
        if event.name == name:
            row = to_row(event)
            row["event_id"] = event.event_id
            row["seq"] = seq
            rows.append(row)
    return rows


def store_parameters(
    events: list[PreparedEvent], hasher: IdentifierHasher, forward_to: Collection[str] = ()
) -> list[str]:
    """The store statement's $1..$7, in order, for `events` (see store_request)."""
    # One pass, reading the fields rather than the is_valid property: a Python call per event.
    valid: list[PreparedEvent] = []
    invalid: list[PreparedEvent] = []
    for event in events:
        if not event.duplicate_in_request:
            (invalid if event.violations else valid).append(event)
    return [
        json_columns(valid, _EVENT_COLUMNS),
        json_columns(delivery_rows(valid, forward_to), _DELIVERY_COLUMNS),
        json_columns(_side_rows(valid, PROMPT_EVENT, _prompt_row), _PROMPT_COLUMNS),
        json_columns(_side_rows(valid, RESPONSE_EVENT, _response_row), _RESPONSE_COLUMNS),
        json_columns(_link_rows(valid), _LINK_COLUMNS),
        json_columns(list(map(_quarantine_row, invalid)), _QUARANTINE_COLUMNS),
        hashed_identifiers(hasher, identifiers_of(events)),
    ]


async def store_request(
    conn: AsyncConnection,
    events: list[PreparedEvent],
    hasher: IdentifierHasher,
    forward_to: Collection[str] = (),
) -> list[EventResult]:
    """Store a request's events (or several requests' together, see group_commit) in one
    statement and say what became of each.

    `forward_to` names the destinations (PostHog, webhook) whose outbox rows for the new events
    commit with them (see everreach.forwarding). Rows for side tables are sent for every valid
    event; the statement keeps those of the events that were new. The events of erased people
    (their ids hashed with `hasher` are suppressed) are withheld by the statement itself.
    """
    cursor = AsyncRawCursor(conn)
    await cursor.execute(query("store_events"), store_parameters(events, hasher, forward_to))
    stored_before: set[uuid.UUID] = set()
    suppressed: set[str] = set()
    for event_id, identifier in await cursor.fetchall():
        if identifier is None:
            stored_before.add(event_id)
        else:
            suppressed.add(identifier)
    return [_result(event, stored_before, suppressed) for event in events]


def _quarantine_row(event: PreparedEvent) -> dict[str, Any]:
    row = _who(event)
    row["raw"] = quarantine_record(event)
    row["received_at"] = event.received_at
    row["reasons"] = event.violations
    return row


def _result(
    event: PreparedEvent, stored_before: set[uuid.UUID], suppressed: set[str]
) -> EventResult:
    """What became of `event`, given the ids the statement found already stored and the
    suppressed identifiers it matched. Both sets are usually empty: they are tested for
    emptiness first, as hashing a UUID costs a Python call."""
    if suppressed and is_suppressed(event, suppressed):
        return EventResult(event.event_id, Outcome.SUPPRESSED)
    if event.violations:  # the field, not the is_valid property (a Python call per event)
        return EventResult(event.event_id, Outcome.QUARANTINED, event.violations)
    if event.duplicate_in_request or (stored_before and event.event_id in stored_before):
        return EventResult(event.event_id, Outcome.DUPLICATE)
    return EventResult(event.event_id, Outcome.ACCEPTED)

"""The store statement's plan stays linear in the events of a group.

Group commit sends up to a thousand events in one statement. A nested loop that rescans a CTE for
every row compares every pair: the planner chose one when it guessed a one-row CTE, and at 1 000
events it cost Postgres twice the time of the whole rest of the statement (bench/RESULTS.md).
The plan is what Postgres would run for such a group (EXPLAIN, nothing is written).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg import RawCursor

from everreach.collector import AttributedEvent, decode_request
from everreach.collector.event_store import query, store_parameters
from everreach.privacy import IdentifierHasher
from tests.helpers import event, new_id, prepared


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def quadratic_joins(plan: dict[str, Any]) -> list[str]:
    """Nested loops that rescan a CTE for each outer row, described."""
    found = []
    for node in nodes(plan):
        if node["Node Type"] != "Nested Loop":
            continue
        inner = [child for child in node["Plans"] if child["Parent Relationship"] == "Inner"]
        if inner and inner[0]["Node Type"] == "CTE Scan":
            found.append(f"{node.get('Join Type')} join rescanning {inner[0]['CTE Name']}")
    return found


@pytest.mark.parametrize("size", [100, 1000])
def test_a_group_of_events_is_stored_without_comparing_every_pair(
    db: psycopg.Connection[Any], size: int
) -> None:
    body = msgspec.json.encode(
        {
            "batch": [
                event("message_sent", {"contact_id": "c1", "channel": "sms"}) for _ in range(size)
            ]
        }
    )
    wire = decode_request(body, max_events=size).events
    events = prepared([AttributedEvent(e, new_id()) for e in wire])
    params = store_parameters(events, IdentifierHasher("test-privacy-key-0123456789"))
    cursor = RawCursor(db)
    cursor.execute("EXPLAIN (FORMAT JSON) " + query("store_events"), params)
    plan = cursor.fetchone()[0][0]["Plan"]
    assert quadratic_joins(plan) == []

"""The store statement itself withholds erased people's events (one round trip per request).

Driven below the HTTP layer so that each case is exact: a request mixing an erased person's
valid and invalid events with another person's, in order; and a request that also carries
identity links, which takes the lookup-first path.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from everreach.collector.event_store import store_request
from everreach.collector.group_commit import GroupCommit
from everreach.collector.pipeline import AttributedEvent, Outcome, PreparedEvent
from everreach.collector.submission import PreparedSubmission
from everreach.collector.submission_store import store_submission
from everreach.collector.wire import WireEvent
from everreach.privacy import IdentifierHasher
from tests.helpers import prepared

HASHER = IdentifierHasher("test-privacy-key-0123456789")


def suppress(db: psycopg.Connection[Any], identifier: str) -> None:
    receipt = uuid.uuid4()
    db.execute(
        "INSERT INTO erasure_receipts (receipt_id, subject_hash, requested_by, deleted_rows, days)"
        " VALUES (%s, '\\x00', 'test', '{}', '{}')",
        (receipt,),
    )
    db.execute(
        "INSERT INTO suppressed_identifiers (identifier_hash, kind, receipt_id)"
        " VALUES (%s, 'user_id', %s)",
        (HASHER(identifier), receipt),
    )


def events(*specs: tuple[str, str | None, str]) -> list[PreparedEvent]:
    """Prepared events from (event name, user id, anonymous id) triples, in that order."""
    items = [
        AttributedEvent(
            WireEvent(
                name=name,
                props={"contact_id": "c1", "channel": "sms"},
                event_id=uuid.uuid4(),
                anonymous_id=device,
            ),
            user,
        )
        for name, user, device in specs
    ]
    return prepared(items)


def stored_under(db: psycopg.Connection[Any], ids: list[str]) -> dict[str, int]:
    """Rows anywhere in the event tables (and the outbox) under any of `ids`."""
    counts = {}
    for table in ("app_events", "quarantined_events", "identity_links"):
        counts[table] = db.execute(
            f"SELECT count(*) FROM {table} WHERE user_id = ANY(%s) OR anonymous_id = ANY(%s)",
            (ids, ids),
        ).fetchone()[0]
    counts["outbox"] = db.execute(
        "SELECT count(*) FROM outbox o JOIN app_events e USING (event_id)"
        " WHERE e.user_id = ANY(%s)",
        (ids,),
    ).fetchone()[0]
    return counts


async def _store(database_url: str, prepared: list[PreparedEvent]) -> list[Outcome]:
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        results = await store_request(conn, prepared, HASHER, forward_to=["webhook"])
    return [r.status for r in results]


def test_erased_people_are_withheld_by_the_store_statement_in_request_order(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    erased_user, erased_device = f"u-{uuid.uuid4()}", f"d-{uuid.uuid4()}"
    other_user, other_device = f"u-{uuid.uuid4()}", f"d-{uuid.uuid4()}"
    suppress(db, erased_user)
    suppress(db, erased_device)
    prepared = events(
        ("message_sent", erased_user, f"d-{uuid.uuid4()}"),  # suppressed by its user id
        ("message_sent", other_user, other_device),
        ("no_such_event", erased_user, erased_device),  # invalid: would be quarantined
        ("message_sent", None, erased_device),  # pre-auth, suppressed by its device
        ("no_such_event", other_user, other_device),
    )

    outcomes = asyncio.run(_store(database_url, prepared))

    assert outcomes == [
        Outcome.SUPPRESSED,
        Outcome.ACCEPTED,
        Outcome.SUPPRESSED,
        Outcome.SUPPRESSED,
        Outcome.QUARANTINED,
    ]
    assert stored_under(db, [erased_user, erased_device]) == {
        "app_events": 0,
        "quarantined_events": 0,
        "identity_links": 0,
        "outbox": 0,
    }
    assert stored_under(db, [other_user]) == {
        "app_events": 1,
        "quarantined_events": 1,
        "identity_links": 1,
        "outbox": 1,
    }


def test_a_request_with_identity_links_withholds_the_erased_persons_links_too(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    erased_user, device = f"u-{uuid.uuid4()}", f"d-{uuid.uuid4()}"
    suppress(db, erased_user)
    prepared = PreparedSubmission(
        "posthog",
        events(("message_sent", erased_user, device), ("message_sent", None, device)),
        [],
        {(device, erased_user): ("alias", datetime.now(UTC))},
    )

    async def run() -> list[Outcome]:
        async with AsyncConnectionPool(database_url, kwargs={"autocommit": True}) as pool:
            results = await store_submission(GroupCommit(pool, HASHER), prepared)
        return sorted(r.status for r in results)

    assert asyncio.run(run()) == sorted([Outcome.SUPPRESSED, Outcome.ACCEPTED])
    assert stored_under(db, [erased_user])["identity_links"] == 0
    assert stored_under(db, [device])["app_events"] == 1

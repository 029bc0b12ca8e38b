"""Group commit: concurrent requests share statements, and each still gets its own answer.

Driven below the HTTP layer on a real pool and database, so the grouping is deterministic:
requests started together (asyncio.gather) are all queued before the first statement runs.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from everreach.collector.group_commit import GroupCommit
from everreach.collector.pipeline import AttributedEvent, EventResult, Outcome, PreparedEvent
from everreach.collector.wire import WireEvent
from everreach.privacy import IdentifierHasher
from tests.helpers import prepared

HASHER = IdentifierHasher("test-privacy-key-0123456789")


def request(
    received_at: datetime, event_id: uuid.UUID | None = None, name: str = "message_sent"
) -> list[PreparedEvent]:
    """One single-event request, as the collector prepares it."""
    wire = WireEvent(
        name=name,
        props={"contact_id": "c1", "channel": "sms"},
        event_id=event_id or uuid.uuid4(),
        anonymous_id=f"d-{uuid.uuid4()}",
        timestamp=received_at - timedelta(seconds=1),
    )
    return prepared([AttributedEvent(wire, None)], received_at)


async def store_together(
    database_url: str, requests: list[list[PreparedEvent]], concurrency: int = 1
) -> tuple[list[list[EventResult] | BaseException], int]:
    """Store `requests` concurrently; each one's results (or error), and the statements run."""
    async with AsyncConnectionPool(database_url, kwargs={"autocommit": True}) as pool:
        writer = GroupCommit(pool, HASHER, concurrency=concurrency)
        answers = await asyncio.gather(
            *(writer.store(events) for events in requests), return_exceptions=True
        )
        await writer.aclose()
    return answers, writer.statements


def stored(db: psycopg.Connection[Any], event_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    rows = db.execute(
        "SELECT event_id, received_at FROM app_events WHERE event_id = ANY(%s)", (event_ids,)
    ).fetchall()
    return dict(rows)


def test_requests_waiting_together_share_one_statement(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    requests = [request(now - timedelta(seconds=n)) for n in range(20)]

    answers, statements = asyncio.run(store_together(database_url, requests))

    assert statements == 1
    assert [[r.status for r in a] for a in answers] == [[Outcome.ACCEPTED]] * 20
    # Each event keeps the arrival time of its own request, not the group's.
    ids = [events[0].event_id for events in requests]
    assert stored(db, ids) == {events[0].event_id: events[0].received_at for events in requests}


def test_an_event_id_sent_by_two_requests_of_a_group_is_stored_once_for_the_first(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    event_id = uuid.uuid4()
    # A retry whose corrected time differs (another sent_at) is the same event.
    first, retry = request(now, event_id), request(now + timedelta(hours=3), event_id)

    answers, statements = asyncio.run(store_together(database_url, [first, retry]))

    assert statements == 1
    assert [[r.status for r in a] for a in answers] == [[Outcome.ACCEPTED], [Outcome.DUPLICATE]]
    assert stored(db, [event_id]) == {event_id: first[0].received_at}


def test_a_request_whose_store_fails_fails_alone(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    good = [request(now), request(now)]
    # A prompt that passed no plan (built by hand) and whose rows cannot be built: the group's
    # statement fails, and the writer stores each request of the group on its own.
    broken = [
        msgspec.structs.replace(
            request(now)[0], name="prompt_submitted", properties={"prompt_id": "not-a-uuid"}
        )
    ]

    answers, statements = asyncio.run(store_together(database_url, [good[0], broken, good[1]]))

    assert [r.status for r in answers[0]] == [Outcome.ACCEPTED]  # type: ignore[union-attr]
    assert isinstance(answers[1], ValueError)
    assert [r.status for r in answers[2]] == [Outcome.ACCEPTED]  # type: ignore[union-attr]
    ids = [good[0][0].event_id, good[1][0].event_id, broken[0].event_id]
    assert set(stored(db, ids)) == {good[0][0].event_id, good[1][0].event_id}
    assert statements == 2  # the two good requests, each alone after the group failed


def test_requests_waiting_together_are_shared_evenly_by_the_free_statements(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    """20 requests queued at once with two statements free: 10 in each, not all 20 in one while
    the other backend idles."""
    now = datetime.now(UTC)
    requests = [request(now) for _ in range(20)]

    answers, statements = asyncio.run(store_together(database_url, requests, concurrency=2))

    assert all([r.status for r in a] == [Outcome.ACCEPTED] for a in answers)  # type: ignore[union-attr]
    assert statements == 2
    # The events one statement stored share its transaction id.
    per_statement = db.execute(
        "SELECT count(*) FROM app_events WHERE event_id = ANY(%s) GROUP BY xmin::text",
        ([events[0].event_id for events in requests],),
    ).fetchall()
    assert sorted(n for (n,) in per_statement) == [10, 10]


def test_concurrency_bounds_the_statements_in_flight(database_url: str) -> None:
    now = datetime.now(UTC)
    requests = [request(now) for _ in range(30)]

    answers, statements = asyncio.run(store_together(database_url, requests, concurrency=3))

    assert all([r.status for r in a] == [Outcome.ACCEPTED] for a in answers)  # type: ignore[union-attr]
    # Three drains start, and share the requests already queued.
    assert statements == 3


def test_the_writer_refuses_a_concurrency_of_zero() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(None, HASHER, concurrency=0)  # type: ignore[arg-type]


def test_when_the_database_is_away_the_whole_group_fails_at_once() -> None:
    now = datetime.now(UTC)
    requests = [request(now) for _ in range(3)]

    async def run() -> tuple[list[Any], dict[str, int]]:
        # Nothing listens on port 1: no connection comes within the pool's timeout.
        pool = AsyncConnectionPool(
            "postgresql://postgres@127.0.0.1:1/none", open=False, timeout=0.5, min_size=1
        )
        await pool.open(wait=False)
        try:
            writer = GroupCommit(pool, HASHER, concurrency=1)
            answers = await asyncio.gather(
                *(writer.store(events) for events in requests), return_exceptions=True
            )
            return answers, pool.get_stats()
        finally:
            await pool.close()

    answers, stats = asyncio.run(run())

    assert all(isinstance(a, PoolTimeout) for a in answers)
    # One wait for a connection for the three requests, not one more per request.
    assert stats["requests_num"] == 1


def test_a_request_sent_right_after_an_answer_is_stored(database_url: str) -> None:
    """The caller resumes before the drain that answered it is counted as gone: a store() made
    at once must still start (or join) a drain, not wait for one that has already ended."""
    now = datetime.now(UTC)

    async def run() -> list[Outcome]:
        async with AsyncConnectionPool(database_url, kwargs={"autocommit": True}) as pool:
            writer = GroupCommit(pool, HASHER, concurrency=1)
            outcomes = []
            for _ in range(3):
                async with asyncio.timeout(30):  # not wait_for: that adds a task between
                    results = await writer.store(request(now))
                outcomes += [r.status for r in results]
            return outcomes

    assert asyncio.run(run()) == [Outcome.ACCEPTED] * 3

"""Group commit: requests that arrive while earlier ones are being stored share the next statement.

Why: whatever its size, a request costs the API a pool checkout and an execute (about 300 µs of
Python for a single event, `make bench-request-cpu`) and costs Postgres a statement and a WAL
flush. At hundreds of single-event requests per second those fixed costs are most of the work,
and when the API falls behind (a slow flush, a burst of arrivals) every waiting request still
paid them one after the other: the backlog drained slowest exactly when it was longest, which is
where the collector's p99 came from. Here at most `concurrency` statements are in flight; the
requests that arrive meanwhile wait and go together in the next one (up to `max_events` events),
so the more is waiting, the cheaper each request gets. A lone request goes straight through: no
timer and no added latency on an idle collector (the same idea as Postgres's own `commit_delay`
group commit, without its fixed sleep, and without needing superuser to set it).

What is waiting is shared out evenly among the statements free to take it. A burst of requests
is prepared in full before the first statement starts (asyncio runs every handler that is ready
before the task that stores), and one statement taking it all left the other backend idle while
the API waited on the first: under the ingest benchmark's load two statements were in flight 36 %
of the time and none 30 %; shared out, 42 % and 20 % (`pg_stat_activity` sampled every 5 ms).

Each request still gets its own answer, the one it would have had alone: an event id sent by two
requests of one group is stored once, for the one that came first, and is a duplicate for the
other (as if they had come one after the other). If a group's statement fails, each of its
requests is stored again on its own, so an error reaches only the request that caused it; when
the database itself is away (no connection in time, a lost connection) every request of the
group gets that error at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from everreach.collector.event_store import store_request
from everreach.collector.pipeline import EventResult, PreparedEvent
from everreach.privacy.suppression import IdentifierHasher


@dataclass(frozen=True)
class _Waiting:
    """One request's events and the future its handler awaits."""

    events: list[PreparedEvent]
    answer: asyncio.Future[list[EventResult]]


class GroupCommit:
    """Stores plan events for the API's requests, grouping the ones that wait (see the module)."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        hasher: IdentifierHasher,
        forward_to: Collection[str] = (),
        *,
        concurrency: int = 2,
        max_events: int = 1000,
    ) -> None:
        if concurrency < 1 or max_events < 1:
            raise ValueError("concurrency and max_events must be at least 1")
        self.pool = pool
        self.hasher = hasher
        self.forward_to = tuple(forward_to)
        self._concurrency = concurrency
        self._max_events = max_events
        self._queue: deque[_Waiting] = deque()
        # Drains still taking requests. Counted, not read off the tasks: a drain that found the
        # queue empty takes nothing more, but its task leaves a set only in a done callback, after
        # the caller it answered last has resumed and perhaps queued the next request.
        self._draining = 0
        self._storing = 0  # drains whose statement is in flight
        self._tasks: set[asyncio.Task[None]] = set()  # held until done, for aclose
        self.statements = 0  # statements run (the tests read it)

    async def store(self, events: list[PreparedEvent]) -> list[EventResult]:
        """Store one request's events (in the next group statement); one result per event."""
        waiting = _Waiting(events, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._draining < self._concurrency:
            # A task of its own, not the caller's: a client that hangs up cancels its handler,
            # which must not cancel a statement that carries other requests' events.
            self._draining += 1
            task = asyncio.create_task(self._drain(), name="everreach-group-commit")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await waiting.answer

    async def aclose(self) -> None:
        """Wait for the statements in flight (the app's shutdown, before the pool closes)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = self._next_group()
                self._storing += 1
                try:
                    await self._store_group(group)
                finally:
                    self._storing -= 1
        finally:
            self._draining -= 1  # no await since the queue was last seen empty

    def _next_group(self) -> list[_Waiting]:
        """The longest run of waiting requests, in arrival order, within this drain's even share
        of the waiting events (the drains not storing share them) and `max_events`; at least one
        request, however large."""
        looking = self._draining - self._storing  # this drain included
        waiting_events = sum(len(waiting.events) for waiting in self._queue)
        share = -(-waiting_events // looking)  # rounded up
        limit = min(self._max_events, share)
        group = [self._queue.popleft()]
        size = len(group[0].events)
        while self._queue and size + len(self._queue[0].events) <= limit:
            size += len(self._queue[0].events)
            group.append(self._queue.popleft())
        return group

    async def _store_group(self, group: list[_Waiting]) -> None:
        try:
            answers = await self._store_together(group)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            # The database is away or overloaded, for every request alike: answer them all now
            # (a 503 each) rather than wait for it again request by request.
            for waiting in group:
                _answer(waiting, exception=exc)
            return
        except Exception as exc:
            if len(group) == 1:
                _answer(group[0], exception=exc)
                return
            for waiting in group:
                await self._store_group([waiting])
            return
        for waiting, results in zip(group, answers, strict=True):
            _answer(waiting, results=results)

    async def _store_together(self, group: list[_Waiting]) -> list[list[EventResult]]:
        merged: list[PreparedEvent] = []
        spans: list[tuple[int, int]] = []
        stored_ids: set[int] = set()  # UUID.int, hashed in C (see pipeline.prepare_events)
        for waiting in group:
            start = len(merged)
            for event in waiting.events:
                if not event.violations and not event.duplicate_in_request:  # valid, first
                    key = event.event_id.int
                    if key in stored_ids:  # an earlier request of the group has it
                        event = msgspec.structs.replace(event, duplicate_in_request=True)
                    stored_ids.add(key)
                merged.append(event)
            spans.append((start, len(merged)))
        async with self.pool.connection() as conn:
            results = await store_request(conn, merged, self.hasher, self.forward_to)
        self.statements += 1
        return [results[start:end] for start, end in spans]


def _answer(
    waiting: _Waiting,
    results: list[EventResult] | None = None,
    exception: Exception | None = None,
) -> None:
    """Resolve a request's future unless its handler is gone (the client hung up)."""
    if waiting.answer.done():
        return
    if exception is not None:
        waiting.answer.set_exception(exception)
    else:
        waiting.answer.set_result(results or [])

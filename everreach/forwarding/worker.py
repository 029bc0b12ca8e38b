"""The forwarder: claims due outbox rows, sends them in batches, records what happened.

One loop per destination, so a destination that is down or slow only delays its own rows. A loop
claims a batch (a short transaction), sends it with a timeout while holding no database
connection, then records the outcome in another short transaction: delivered; retry later with
backoff (or dead if the retry window is over); or dead at once for a permanent refusal. After a
retryable failure the loop pauses until the earliest retry is due, so a failing destination gets
one request per backoff step instead of a stream of doomed batches. Several workers (processes
or the API's in-process one) can run at once: claims never overlap.

A worker that dies mid-batch records nothing; its rows fall due again when their lease runs out
and are sent again (at least once; receivers dedup by event_id / PostHog's uuid). A separate
housekeeping loop deletes delivered rows past the retention and refreshes the oldest-pending gauge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import AsyncIterator

import httpx
import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from everreach.forwarding import outbox, webhook
from everreach.forwarding.backoff import RetryPolicy
from everreach.forwarding.delivery import Attempt, Verdict, failed_to_send, judge
from everreach.forwarding.destinations import Sender, configured_senders
from everreach.forwarding.metrics import (
    FORWARD_DEAD,
    FORWARD_FAILED,
    FORWARD_OLDEST_PENDING,
    FORWARD_SENT,
)
from everreach.platform.settings import Settings

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE_S = 5.0
LEASE_MARGIN_S = 1.0  # recording the outcome after the answer takes a moment too


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        min_delay_s=settings.forward_backoff_min_s,
        max_delay_s=settings.forward_backoff_max_s,
        window_s=settings.forward_retry_window_s,
    )


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep for `seconds`, waking early when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Forwarder:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        senders: list[Sender],
        settings: Settings,
        policy: RetryPolicy | None = None,
    ) -> None:
        if settings.forward_lease_s < settings.forward_timeout_s + LEASE_MARGIN_S:
            raise ValueError(
                f"EVERREACH_FORWARD_LEASE_S ({settings.forward_lease_s}) must exceed the send "
                f"timeout ({settings.forward_timeout_s}) by {LEASE_MARGIN_S} s, or another "
                "worker could claim a batch that is still in flight"
            )
        self._pool = pool
        self._senders = senders
        self._settings = settings
        self._policy = policy or retry_policy(settings)
        self._log = log.bind(worker=uuid.uuid4().hex[:8])

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; batches in flight then finish and are recorded."""
        for sender in self._senders:
            if isinstance(sender, webhook.WebhookSender) and not sender.signs:
                self._log.warning("webhook_unsigned", hint="set MI_WEBHOOK_SECRET")
        # httpx logs every request at INFO: one line per batch is noise; outcomes are logged here
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._log.info("forwarder_started", destinations=[s.name for s in self._senders])
        async with httpx.AsyncClient(timeout=self._settings.forward_timeout_s) as client:
            await asyncio.gather(
                *(self._deliver_loop(client, sender, stop) for sender in self._senders),
                self._housekeeping_loop(stop),
            )
        self._log.info("forwarder_stopped")

    async def _deliver_loop(
        self, client: httpx.AsyncClient, sender: Sender, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            try:
                pause_s = await self.deliver_batch(client, sender)
            except Exception:  # the database is unreachable, say: keep the worker alive
                self._log.exception("forward_batch_error", destination=sender.name)
                pause_s = self._settings.forward_poll_interval_s
            if pause_s:
                await _sleep_unless(stop, pause_s)

    async def deliver_batch(self, client: httpx.AsyncClient, sender: Sender) -> float:
        """Claim, send and record one batch; returns seconds to pause before the next claim."""
        settings = self._settings
        async with self._pool.connection() as conn:
            claim = await outbox.claim(
                conn, sender.name, settings.forward_batch_size, settings.forward_lease_s
            )
        if not claim.rows:
            return settings.forward_poll_interval_s
        request = sender.request([row.payload for row in claim.rows])
        try:
            response = await client.post(request.url, content=request.body, headers=request.headers)
            attempt = judge(response)
        except Exception as exc:  # refused, reset, timed out, bad URL: all mean "try again"
            attempt = failed_to_send(exc)
        async with self._pool.connection() as conn, conn.transaction():
            return await self._record(conn, sender.name, claim, attempt)

    async def _record(
        self, conn: AsyncConnection, destination: str, claim: outbox.Claim, attempt: Attempt
    ) -> float:
        rows = claim.rows
        ids = [row.id for row in rows]
        if attempt.verdict is Verdict.DELIVERED:
            await outbox.mark_delivered(conn, ids)
            FORWARD_SENT.labels(destination).inc(len(rows))
            return 0.0
        error = attempt.error or attempt.verdict.value
        FORWARD_FAILED.labels(destination).inc(len(rows))
        if attempt.verdict is Verdict.PERMANENT:
            dead, retry = ids, {}
        else:
            waits = self._policy.delays_s([r.attempts for r in rows], attempt.retry_after_s)
            delays = dict(zip(ids, waits, strict=True))
            expired = {r.id for r in rows if self._policy.gives_up(r.queued_for_s, delays[r.id])}
            dead = [row_id for row_id in ids if row_id in expired]
            retry = {row_id: delay for row_id, delay in delays.items() if row_id not in expired}
        if retry:
            await outbox.reschedule(conn, claim.lease_id, retry, error)
            self._log.warning(
                "forward_retry", destination=destination, events=len(retry), error=error
            )
        if dead:
            permanent = attempt.verdict is Verdict.PERMANENT
            reason = error if permanent else f"retry window over: {error}"
            await outbox.bury(conn, claim.lease_id, dead, reason)
            FORWARD_DEAD.labels(destination).inc(len(dead))
            self._log.error("forward_dead", destination=destination, events=len(dead), error=error)
        return min(retry.values(), default=0.0)

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.housekeeping()
            except Exception:
                self._log.exception("forward_housekeeping_error")
            await _sleep_unless(stop, self._settings.forward_housekeeping_interval_s)

    async def housekeeping(self) -> None:
        """Delete delivered rows past the retention; refresh the oldest-pending gauge."""
        deleted = outbox.PURGE_SLICE
        while deleted == outbox.PURGE_SLICE:
            async with self._pool.connection() as conn:
                deleted = await outbox.purge_delivered(conn, self._settings.forward_retention_s)
        async with self._pool.connection() as conn:
            ages = await outbox.oldest_pending_s(conn)
        for sender in self._senders:
            FORWARD_OLDEST_PENDING.labels(sender.name).set(ages.get(sender.name, 0.0))


@contextlib.asynccontextmanager
async def forwarding_in_background(
    settings: Settings, pool: AsyncConnectionPool
) -> AsyncIterator[None]:
    """Run a forwarder on the current event loop for the block (the API's in-process worker).

    Nothing runs when no destination is configured or `forwarder_in_process` is off. On exit the
    batch in flight gets its timeout plus a grace period to finish; a batch cut short is sent
    again after its lease.
    """
    senders = configured_senders(settings)
    if not (settings.forwarder_in_process and senders):
        yield
        return
    forwarder = Forwarder(pool, senders, settings)  # a bad configuration fails the start-up
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run(stop), name="everreach-forwarder")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, settings.forward_timeout_s + SHUTDOWN_GRACE_S)


async def run_forwarder(settings: Settings, database_url: str, stop: asyncio.Event) -> None:
    """A standalone forwarder with its own small pool, until `stop` is set."""
    senders = configured_senders(settings)
    pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=len(senders) + 1,
        open=False,
        kwargs={"connect_timeout": 3},
    )
    await pool.open()
    try:
        await Forwarder(pool, senders, settings).run(stop)
    finally:
        await pool.close()


def run_until_signalled(settings: Settings, database_url: str) -> None:
    """`everreach forwarder`: run until SIGINT or SIGTERM, then finish the batches in flight."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_forwarder(settings, database_url, stop)

    asyncio.run(main())

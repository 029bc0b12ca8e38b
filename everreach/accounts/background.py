"""Work done after the response has gone: an in-process queue drained by a few asyncio workers.

Why: some answers must not depend on the work behind them. A password-reset request answers the
same, at the same speed, whether or not the account exists; the lookup, the token hashing and the
mail happen here, off the response path. Jobs run in the API's event loop (sharing its pool);
they are bounded in number and drained when the app stops.

A failing job is logged by name and exception type only: job arguments (tokens, addresses) never
reach the log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

Job = Callable[[], Awaitable[None]]


class JobQueue:
    """A bounded FIFO of named jobs, run by `workers` tasks in the current event loop."""

    def __init__(self, workers: int = 2, max_pending: int = 10_000) -> None:
        self._queue: asyncio.Queue[tuple[str, Job]] = asyncio.Queue(max_pending)
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the workers; call from inside the running loop (the app's lifespan)."""
        self._tasks = [
            asyncio.create_task(self._work(), name=f"everreach-job-{n}")
            for n in range(self._workers)
        ]

    def submit(self, name: str, job: Job) -> None:
        """Queue `job` without waiting; a full queue is logged as an error, never silent."""
        try:
            self._queue.put_nowait((name, job))
        except asyncio.QueueFull:
            log.error("job queue full, job not run", job=name)

    async def _work(self) -> None:
        while True:
            name, job = await self._queue.get()
            try:
                await job()
            except Exception as exc:
                log.error("background job failed", job=name, error=type(exc).__name__)
            finally:
                self._queue.task_done()

    async def close(self, timeout_s: float = 10.0) -> None:
        """Finish the queued jobs (up to `timeout_s`), then stop the workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

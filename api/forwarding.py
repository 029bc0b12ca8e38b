"""The API's in-process forwarder: started with the app, stopped before its pool closes.

Litestar enters lifespans in order and leaves them in reverse, so listed after the lifespan that
builds the services this one finds the pool ready and lets go of it first. Off when no
destination is configured or `EVERREACH_FORWARDER_IN_PROCESS=false` (run `everreach forwarder`
processes instead).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar

from everreach.forwarding import forwarding_in_background
from everreach.platform import Settings


def forwarder_lifespan(
    settings: Settings,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with forwarding_in_background(settings, app.state.services.pool):
            yield

    return lifespan

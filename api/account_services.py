"""Accounts, password resets, token revocation and background jobs, built with the app.

A lifespan of its own, listed after the one that builds `Services`: it finds the pool ready,
and on shutdown finishes the queued jobs (reset emails) before the pool closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection

from everreach.accounts import (
    Accounts,
    AccountStates,
    JobQueue,
    Mailer,
    PasswordHasher,
    PasswordResets,
    ResetLimits,
    build_backend,
)
from everreach.platform import Settings, build_rate_limiter


@dataclass
class AccountServices:
    accounts: Accounts
    resets: PasswordResets
    credentials: AccountStates
    jobs: JobQueue


def account_services(connection: ASGIConnection[Any, Any, Any, Any]) -> AccountServices:
    return connection.app.state.accounts


def accounts_lifespan(
    settings: Settings,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = app.state.services
        hasher = await asyncio.to_thread(PasswordHasher)  # hashes its decoy: keep it off the loop
        credentials = AccountStates(services.pool, settings.credentials_cache_s)
        redis, window = settings.redis_url, settings.reset_limit_window_s
        limits = ResetLimits(
            per_email=build_rate_limiter(redis, settings.reset_limit_per_email, window),
            per_ip=build_rate_limiter(redis, settings.reset_limit_per_ip, window),
        )
        jobs = JobQueue()
        jobs.start()
        app.state.accounts = AccountServices(
            accounts=Accounts(services.pool, hasher, services.tokens, credentials),
            resets=PasswordResets(
                services.pool,
                hasher,
                credentials,
                Mailer(build_backend(settings)),
                jobs,
                limits,
                app_url=settings.app_url,
                ttl_s=settings.reset_token_ttl_s,
            ),
            credentials=credentials,
            jobs=jobs,
        )
        try:
            yield
        finally:
            await jobs.close()
            await limits.per_email.aclose()
            await limits.per_ip.aclose()

    return lifespan

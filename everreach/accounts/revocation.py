"""What the token check needs to know about an account, cached briefly per process.

A signature proves who issued a token, not that it is still good: after a password reset every
token issued before it must stop working (ASVS 7.4.1/6.3.x), after a role change the role claim
is stale, and once the account is deleted nothing it was issued is good. The check compares the
token's `iat` and `role` with the account's `password_changed_at` and `role`, and refuses an
account token whose account does not exist.

Only existing accounts are cached: "no such account" is never remembered, so a token whose account
was deleted is refused on the first request after its cache entry, and an account that does not
exist yet is seen as soon as it does. Positive answers are cached for `ttl_s` seconds
(`EVERREACH_CREDENTIALS_CACHE_S`) for the collector, whose every authenticated request asks;
within this process a reset, role change or deletion evicts the entry at once. Routes that read
a person's data or act as an admin ask with `fresh=True`, which reads the database every time, so
no process lets a deleted account, a demoted admin or a revoked token in there even for `ttl_s`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from everreach.platform.rls import as_service
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

MAX_CACHED_ACCOUNTS = 100_000


@dataclass(frozen=True)
class AccountState:
    role: str
    password_changed_at: float  # epoch seconds, from the API clock that also stamps `iat`


class AccountStates:
    """`AccountState` by subject, read through a TTL cache of existing accounts only."""

    def __init__(self, pool: AsyncConnectionPool[Any], ttl_s: float) -> None:
        self._pool = pool
        self._cache: TTLCache[str, AccountState] = TTLCache(MAX_CACHED_ACCOUNTS, ttl_s)

    async def get(self, sub: str, *, fresh: bool = False) -> AccountState | None:
        """The account's state, or None when the subject has no account (never cached)."""
        if not fresh and (cached := self._cache.get(sub)) is not None:
            return cached
        try:
            user_id = uuid.UUID(sub)
        except ValueError:
            return None
        async with self._pool.connection() as conn, as_service(conn):
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query("account_state"), {"user_id": user_id})
            row = await cursor.fetchone()
        if row is None:
            self._cache.pop(sub, None)
            return None
        state = AccountState(row["role"], row["password_changed_at"].timestamp())
        self._cache[sub] = state
        return state

    def forget(self, user_id: str) -> None:
        """Evict after a password or role change, so this process sees it at once."""
        self._cache.pop(user_id, None)

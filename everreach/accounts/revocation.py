"""What the token check needs to know about an account, cached briefly per process.

A signature proves who issued a token, not that it is still good: after a password reset every
token issued before it must stop working (ASVS 7.4.1/6.3.x), and after a role change the role
claim is stale. The check compares the token's `iat` and `role` with the account's
`password_changed_at` and `role`. Every authenticated collector request asks, so answers are
cached for `ttl_s` seconds (`EVERREACH_CREDENTIALS_CACHE_S`): within this process a reset or role
change evicts the entry at once; another API process may accept a revoked token for at most
`ttl_s` more seconds.

Tokens whose subject has no account (not a uuid, or no users row: machine-issued tokens for
synthetic traffic) have nothing to be revoked by and keep what their signed claims say.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
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
    """`AccountState` by subject, read through a TTL cache (negative answers cached too)."""

    def __init__(self, pool: AsyncConnectionPool[Any], ttl_s: float) -> None:
        self._pool = pool
        self._cache: TTLCache[str, AccountState | None] = TTLCache(MAX_CACHED_ACCOUNTS, ttl_s)

    async def get(self, sub: str) -> AccountState | None:
        """The account's state, or None when the subject has no account."""
        if sub in self._cache:
            return self._cache[sub]
        try:
            user_id = uuid.UUID(sub)
        except ValueError:
            return None
        async with self._pool.connection() as conn, as_service(conn):
            cursor = await conn.execute(query("account_state"), {"user_id": user_id})
            row = await cursor.fetchone()
        state = AccountState(row[0], row[1].timestamp()) if row else None
        self._cache[sub] = state
        return state

    def forget(self, user_id: str) -> None:
        """Evict after a password or role change, so this process sees it at once."""
        self._cache.pop(user_id, None)

"""Per-transaction database roles: row-level security for per-user reads, a service role for
accounts.

The API logs in as one database user (the superuser `postgres` on the embedded server and in CI,
which bypasses RLS). Each piece of work that must obey the policies of migration 0002 switches
role for one transaction with `SET LOCAL ROLE`, and a per-user read also sets the transaction-local
`everreach.user_id` that the policies compare with. Both end with the transaction, so a pooled
connection goes back to the pool as it came.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.pq import TransactionStatus

READER_ROLE = "everreach_reader"
SERVICE_ROLE = "everreach_service"
USER_SETTING = "everreach.user_id"


def _require_idle(conn: AsyncConnection[Any]) -> None:
    """SET LOCAL inside an outer transaction would outlive our block: refuse that use."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("a role switch needs a connection outside any transaction")


@asynccontextmanager
async def as_reader(conn: AsyncConnection[Any], user_id: str) -> AsyncIterator[None]:
    """One transaction in which only `user_id`'s events, prompts and responses are visible."""
    _require_idle(conn)
    async with conn.transaction():
        await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(READER_ROLE)))
        await conn.execute("SELECT set_config(%s, %s, true)", (USER_SETTING, user_id))
        yield


@asynccontextmanager
async def as_service(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    """One transaction as the service role: the only role that reaches accounts and resets."""
    _require_idle(conn)
    async with conn.transaction():
        await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(SERVICE_ROLE)))
        yield


@asynccontextmanager
async def service_role_within(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    """The service role for a few statements inside a transaction the caller holds (an erasure,
    an access export: the account is one of several tables they read or delete in one go)."""
    if conn.info.transaction_status == TransactionStatus.IDLE:
        raise RuntimeError("service_role_within needs an open transaction")
    await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(SERVICE_ROLE)))
    yield
    await conn.execute("RESET ROLE")

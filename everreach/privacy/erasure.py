"""Erasure on request (GDPR Art. 17): remove a person's rows everywhere, then say which days to
rebuild.

`erase_user` deletes, in one transaction, everything stored under a user id: events under the
user id and under every anonymous id that is theirs alone (`identity_links`), quarantined and SDK
system events, prompts and the responses to them, identity links, the outbox rows of their
events (pending, dead or delivered), password-reset tokens and the account. In the same
transaction it suppresses the identifiers (`suppression`), records the days whose rows changed
(`everreach.datasets.day_changes`), asks PostHog to delete the person when we forward to it
(`everreach.forwarding.posthog_persons`, through the outbox) and writes a receipt: when, who
asked, rows per table, days to rebuild; the person appears in it only as a keyed hash.

Re-materializing those days is an edge's job: the CLI asks Dagster at once and then calls
`mark_rebuilt`; the API leaves it to the Dagster freshness sensor, which sees the day changes.

Idempotent: erasing someone already erased (nothing left to delete, a receipt exists) changes
nothing and returns the earlier receipt. A dry run runs the same deletes and rolls them back, so
its counts are exact.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from everreach.datasets.day_changes import record_day_changes
from everreach.forwarding.posthog_persons import enqueue_person_deletion
from everreach.platform.rls import service_role_within
from everreach.platform.sql_files import sql_folder
from everreach.privacy.suppression import IdentifierHasher

query = sql_folder(__package__)

# The tables whose deleted rows date the days to rebuild (what the datasets and labels read).
DATED_TABLES = ("app_events", "prompts", "responses")


@dataclass(frozen=True)
class ErasureReceipt:
    """What an erasure did. `receipt_id` is None for a dry run (nothing was kept)."""

    receipt_id: uuid.UUID | None
    requested_by: str
    requested_at: datetime
    deleted_rows: dict[str, int]
    days: list[date]
    posthog_deletion_queued: bool
    rebuilt_at: datetime | None = None
    dry_run: bool = False
    already_erased: bool = False
    anonymous_ids: int = field(default=0, compare=False)  # how many device ids were theirs


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def account_id_of(user_id: str) -> uuid.UUID | None:
    """The accounts table's key, when the user id is one (SDK distinct ids need not be)."""
    try:
        return uuid.UUID(user_id)
    except ValueError:
        return None


async def _delete_rows(
    conn: AsyncConnection, user_id: str, anonymous_ids: list[str]
) -> tuple[dict[str, int], dict[date, int]]:
    """Delete the person's rows; counts per table and rows per UTC day of the dated tables."""
    cursor = await conn.execute(
        query("erase_person"), {"user_id": user_id, "anonymous_ids": anonymous_ids}
    )
    deleted = dict.fromkeys(DATED_TABLES, 0)  # a dated table with nothing deleted has no row
    per_day: dict[date, int] = {}
    for table, day, count in await cursor.fetchall():
        deleted[table] = deleted.get(table, 0) + count
        if day is not None:
            per_day[day] = per_day.get(day, 0) + count
    account_id = account_id_of(user_id)
    resets = accounts = 0
    if account_id is not None:
        # Accounts sit behind row-level security that only the service role passes.
        async with service_role_within(conn):
            cursor = await conn.execute(query("erase_account"), {"account_id": account_id})
            resets, accounts = await cursor.fetchone() or (0, 0)
    deleted["password_resets"] = resets
    deleted["users"] = accounts
    return deleted, per_day


async def erase_user(
    conn: AsyncConnection,
    user_id: str,
    *,
    hasher: IdentifierHasher,
    requested_by: str,
    posthog_deletion: bool,
    dry_run: bool = False,
) -> ErasureReceipt:
    """Erase everything stored under `user_id` (see the module docstring).

    `conn` must be outside any transaction; `posthog_deletion` says whether to queue a person
    deletion for PostHog (`posthog_persons.person_deletion_wanted`).
    """
    subject_hash = hasher(user_id)
    requested_at = datetime.now(UTC)
    try:
        async with conn.transaction():
            cursor = await conn.execute(query("erasure_anonymous_ids"), {"user_id": user_id})
            anonymous_ids = [row[0] for row in await cursor.fetchall()]
            deleted, per_day = await _delete_rows(conn, user_id, anonymous_ids)
            receipts = conn.cursor(row_factory=class_row(ErasureReceipt))
            await receipts.execute(query("latest_erasure_receipt"), {"subject_hash": subject_hash})
            earlier = await receipts.fetchone()
            if earlier is not None and not any(deleted.values()):
                return replace(earlier, already_erased=True, dry_run=dry_run)
            receipt = ErasureReceipt(
                receipt_id=None if dry_run else uuid.uuid4(),
                requested_by=requested_by,
                requested_at=requested_at,
                deleted_rows=deleted,
                days=sorted(per_day),
                posthog_deletion_queued=posthog_deletion,
                dry_run=dry_run,
                anonymous_ids=len(anonymous_ids),
            )
            if dry_run:
                raise _DryRun(receipt)
            await _record(conn, receipt, hasher, user_id, anonymous_ids, per_day)
            return receipt
    except _DryRun as rolled_back:
        return rolled_back.args[0]


async def _record(
    conn: AsyncConnection,
    receipt: ErasureReceipt,
    hasher: IdentifierHasher,
    user_id: str,
    anonymous_ids: list[str],
    per_day: dict[date, int],
) -> None:
    """The receipt, the suppressions, the day changes and the PostHog request, in the erasure's
    transaction."""
    assert receipt.receipt_id is not None
    await conn.execute(
        query("insert_erasure_receipt"),
        {
            "receipt_id": receipt.receipt_id,
            "subject_hash": hasher(user_id),
            "requested_by": receipt.requested_by,
            "requested_at": receipt.requested_at,
            "deleted_rows": Jsonb(receipt.deleted_rows),
            "days": receipt.days,
            "posthog_deletion_queued": receipt.posthog_deletion_queued,
        },
    )
    identifiers = [(user_id, "user_id"), *((a, "anonymous_id") for a in anonymous_ids)]
    await conn.execute(
        query("insert_suppressed_identifiers"),
        {
            "receipt_id": receipt.receipt_id,
            "hashes": [hasher(identifier) for identifier, _ in identifiers],
            "kinds": [kind for _, kind in identifiers],
        },
    )
    await record_day_changes(conn, "erasure", per_day)
    if receipt.posthog_deletion_queued:
        await enqueue_person_deletion(conn, receipt.receipt_id, [user_id, *anonymous_ids])


@dataclass(frozen=True)
class PendingRebuild:
    """An erasure whose days (and the unpartitioned models) are not yet rebuilt."""

    receipt_id: uuid.UUID
    requested_at: datetime
    days: list[date]


def pending_rebuilds(conn: psycopg.Connection) -> list[PendingRebuild]:
    """Erasures waiting for their re-materialization, oldest first (the Dagster edge's view)."""
    cursor = conn.cursor(row_factory=class_row(PendingRebuild))
    return cursor.execute(query("pending_rebuilds")).fetchall()


def mark_rebuilt(conn: psycopg.Connection, receipt_id: uuid.UUID) -> None:
    """Note on the receipt that no dataset file or model table holds the person any more."""
    conn.execute(query("mark_erasure_rebuilt"), {"receipt_id": receipt_id})


async def read_receipt(conn: AsyncConnection, receipt_id: uuid.UUID) -> ErasureReceipt | None:
    cursor = conn.cursor(row_factory=class_row(ErasureReceipt))
    await cursor.execute(query("erasure_receipt"), {"receipt_id": receipt_id})
    return await cursor.fetchone()

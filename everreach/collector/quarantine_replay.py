"""Replay quarantined events against the current tracking plan, and say what waits.

When the plan is fixed (a new event, a loosened property), the events it quarantined should not
stay lost. `replay_quarantine` takes them back out of `quarantined_events` in batches and runs
each through the collector's own steps: `pipeline.prepare_event` (plan checks, the auth rule,
scrubbing) and `event_store.store_request` (dedup by event_id, prompt and response upserts,
identity links, outbox rows). Those that pass move to `app_events` (their `received_at` is the
replay's, so the freshness sensor sees their days as late data and rebuilds them); the rest stay
with the current plan's reasons. Each batch is one transaction. Replaying again changes nothing:
moved events have left the quarantine, and unchanged reasons are not rewritten.

The event is rebuilt from the quarantine's `raw` copy, which holds its corrected time: it is
replayed with no `sent_at`, so skew correction leaves that time alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row

from everreach.collector.event_store import json_rows, store_request
from everreach.collector.pipeline import (
    AttributedEvent,
    Outcome,
    PreparedEvent,
    RequestContext,
    prepare_event,
)
from everreach.collector.wire import WireEvent
from everreach.forwarding import forward_destinations
from everreach.plan import TrackingPlan, load_plan
from everreach.platform.settings import Settings
from everreach.platform.sql_files import sql_folder
from everreach.privacy import (
    IdentifierHasher,
    Pseudonymizer,
    identifier_hasher,
    pseudonym_secret,
)

query = sql_folder(__package__)

BATCH = 500


@dataclass(frozen=True)
class ReplaySelection:
    """Which quarantined events to replay (all when every field is None)."""

    event: str | None = None
    reason: str | None = None
    since: datetime | None = None


@dataclass
class ReplayReport:
    """What a replay did (or, for a dry run, would do)."""

    dry_run: bool
    examined: int = 0
    moved: Counter[str] = field(default_factory=Counter)  # per event name
    duplicates: Counter[str] = field(default_factory=Counter)  # already in app_events
    suppressed: Counter[str] = field(default_factory=Counter)  # of people erased since
    still_quarantined: Counter[tuple[str, str]] = field(default_factory=Counter)  # event, reason

    def lines(self) -> list[str]:
        """The report for a terminal or a run log: counts per event and per event and reason."""
        verb = "would move" if self.dry_run else "moved"
        lines = [f"examined {self.examined} quarantined event(s)"]
        lines += [f"  {verb:<12} {n:>7}  {name}" for name, n in sorted(self.moved.items())]
        lines += [
            f"  {'duplicate':<12} {n:>7}  {name} (already stored; left the quarantine)"
            for name, n in sorted(self.duplicates.items())
        ]
        lines += [
            f"  {'suppressed':<12} {n:>7}  {name} (the person was erased; left the quarantine)"
            for name, n in sorted(self.suppressed.items())
        ]
        lines += [
            f"  {'still held':<12} {n:>7}  {name}: {reason}"
            for (name, reason), n in sorted(self.still_quarantined.items())
        ]
        return lines


@dataclass(frozen=True)
class QuarantineGroup:
    event_name: str | None
    reason: str
    events: int
    oldest: datetime
    newest: datetime


def _wire_event(raw: dict[str, Any]) -> WireEvent:
    context = raw.get("context") or {}
    return WireEvent(
        name=raw["name"],
        props=raw.get("props") or {},
        event_id=uuid.UUID(raw["event_id"]),
        anonymous_id=raw.get("anonymous_id"),
        timestamp=datetime.fromisoformat(raw["occurred_at"]),
        platform=context.get("platform"),
        app_build=context.get("app_build"),
        device_model=context.get("device_model"),
    )


def _prepare(
    raw: dict[str, Any],
    plan: TrackingPlan,
    context: RequestContext,
    max_text_chars: int,
    pseudonyms: Pseudonymizer,
) -> PreparedEvent:
    """The quarantined event through the collector's preparation, as if it arrived again."""
    event = prepare_event(
        AttributedEvent(_wire_event(raw), raw.get("user_id")),
        context,
        None,
        plan,
        skew_threshold_s=float("inf"),  # no sent_at: the stored time is already corrected
        max_text_chars=max_text_chars,
        pseudonyms=pseudonyms,  # ids stored as pseudonyms stay as they are
    )
    event.sent_at = datetime.fromisoformat(raw["sent_at"]) if raw.get("sent_at") else None
    return event


async def replay_quarantine(
    conn: AsyncConnection,
    plan: TrackingPlan,
    selection: ReplaySelection,
    *,
    max_text_chars: int,
    pseudonyms: Pseudonymizer,
    hasher: IdentifierHasher,
    forward_to: Collection[str] = (),
    dry_run: bool = False,
) -> ReplayReport:
    """Re-validate the selected quarantined events; move those that pass (see the module)."""
    report = ReplayReport(dry_run=dry_run)
    after_id = 0
    while True:
        cursor = await conn.execute(
            query("quarantine_batch"),
            {
                "after_id": after_id,
                "event": selection.event,
                "reason": selection.reason,
                "since": selection.since,
                "limit": BATCH,
            },
        )
        rows = await cursor.fetchall()
        if not rows:
            return report
        after_id = rows[-1][0]
        context = RequestContext(client_ip="", received_at=datetime.now(UTC))
        events = [
            _prepare(raw, plan, context, max_text_chars, pseudonyms) for _, _, raw, _, _ in rows
        ]
        report.examined += len(events)
        await _apply(conn, events, hasher, forward_to, report)


async def _apply(
    conn: AsyncConnection,
    events: list[PreparedEvent],
    hasher: IdentifierHasher,
    forward_to: Collection[str],
    report: ReplayReport,
) -> None:
    """Store the batch's passing events, release them, requalify the rest (one transaction)."""
    passing = [e for e in events if e.is_valid]
    failing = [e for e in events if not e.is_valid]
    for event in failing:
        for violation in event.violations:
            report.still_quarantined[(event.name, violation.code)] += 1
    if report.dry_run:
        report.moved.update(e.name for e in passing)
        return
    async with conn.transaction():
        results = await store_request(conn, passing, hasher, forward_to)
        counters = {Outcome.ACCEPTED: report.moved, Outcome.SUPPRESSED: report.suppressed}
        for event, result in zip(passing, results, strict=True):
            counters.get(result.status, report.duplicates)[event.name] += 1
        if passing:
            await conn.execute(
                query("quarantine_release"), {"event_ids": [e.event_id for e in passing]}
            )
        if failing:
            rows = ({"event_id": e.event_id, "reasons": e.violations} for e in failing)
            await conn.execute(query("quarantine_requalify"), {"rows": json_rows(rows)})


async def quarantine_status(conn: AsyncConnection) -> list[QuarantineGroup]:
    """What waits in the quarantine, by event and reason."""
    cursor = conn.cursor(row_factory=class_row(QuarantineGroup))
    await cursor.execute(query("quarantine_status"))
    return await cursor.fetchall()


def replay_as_configured(
    conninfo: str, settings: Settings, selection: ReplaySelection, *, dry_run: bool
) -> ReplayReport:
    """One replay the way the platform is configured: the current tracking plan, the pseudonym
    key, the configured forwarding destinations, on a connection of its own to `conninfo`.

    The command line and the Dagster job both run this, so they cannot drift apart.
    """
    plan = load_plan(settings.tracking_plan)

    async def run() -> ReplayReport:
        async with await AsyncConnection.connect(conninfo, autocommit=True) as conn:
            return await replay_quarantine(
                conn,
                plan,
                selection,
                max_text_chars=settings.max_text_chars,
                pseudonyms=Pseudonymizer(pseudonym_secret(settings)),
                hasher=identifier_hasher(settings),
                forward_to=forward_destinations(settings),
                dry_run=dry_run,
            )

    return asyncio.run(run())

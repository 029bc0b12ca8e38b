"""The quarantine replay as a Dagster job, for a plan fix deployed with the code location.

`quarantine_replay` runs `everreach.collector.quarantine_replay` (the same as `everreach
quarantine replay`): launch it from the UI with the run config's `event`, `reason`, `since` and
`dry_run`; the run log lists the counts per event and reason. The events it moves carry the
replay's `received_at`, so the late-data sensor rebuilds their days afterwards.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
import asyncio
from datetime import datetime

import dagster as dg
from psycopg import AsyncConnection

from everreach.collector import ReplayReport, ReplaySelection, replay_quarantine
from everreach.forwarding import forward_destinations
from everreach.plan import load_plan
from everreach.platform import Settings
from everreach.privacy import Pseudonymizer, pseudonym_secret
from everreach_dagster.resources import DatabaseResource


class ReplayConfig(dg.Config):
    event: str | None = None
    reason: str | None = None
    since: str | None = None  # ISO 8601; events quarantined at or after it
    dry_run: bool = False


def quarantine_replay_job(settings: Settings) -> dg.JobDefinition:
    plan = load_plan(settings.tracking_plan)
    forward_to = forward_destinations(settings)

    @dg.op(
        description="Re-validate quarantined events against the current plan; move those that pass."
    )
    def replay_quarantined_events(
        context: dg.OpExecutionContext, config: ReplayConfig, database: DatabaseResource
    ) -> None:
        selection = ReplaySelection(
            event=config.event,
            reason=config.reason,
            since=datetime.fromisoformat(config.since) if config.since else None,
        )

        async def run() -> ReplayReport:
            async with await AsyncConnection.connect(database.conninfo, autocommit=True) as conn:
                return await replay_quarantine(
                    conn,
                    plan,
                    selection,
                    max_text_chars=settings.max_text_chars,
                    pseudonyms=Pseudonymizer(pseudonym_secret(settings)),
                    forward_to=forward_to,
                    dry_run=config.dry_run,
                )

        report = asyncio.run(run())
        context.log.info("\n".join(report.lines()))

    @dg.job(
        name="quarantine_replay",
        description="Replay quarantined events (everreach quarantine replay).",
    )
    def quarantine_replay() -> None:
        replay_quarantined_events()

    return quarantine_replay

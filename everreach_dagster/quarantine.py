"""The quarantine replay as a Dagster job, for a plan fix deployed with the code location.

`quarantine_replay` runs `everreach.collector.quarantine_replay` (the same as `everreach
quarantine replay`): launch it from the UI with the run config's `event`, `reason`, `since` and
`dry_run`; the run log lists the counts per event and reason. The events it moves carry the
replay's `received_at`, so the late-data sensor rebuilds their days afterwards.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
from datetime import datetime

import dagster as dg

from everreach.collector import ReplaySelection, replay_as_configured
from everreach.platform import Settings
from everreach_dagster.resources import DatabaseResource


class ReplayConfig(dg.Config):
    event: str | None = None
    reason: str | None = None
    since: str | None = None  # ISO 8601; events quarantined at or after it
    dry_run: bool = False


def quarantine_replay_job(settings: Settings) -> dg.JobDefinition:
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
        report = replay_as_configured(
            database.conninfo, settings, selection, dry_run=config.dry_run
        )
        context.log.info("\n".join(report.lines()))

    @dg.job(
        name="quarantine_replay",
        description="Replay quarantined events (everreach quarantine replay).",
    )
    def quarantine_replay() -> None:
        replay_quarantined_events()

    return quarantine_replay

"""Retention jobs: old events, old responses (and their orphaned prompts), Dagster run history.

The data cleanups call the SQL functions of migrations 0004 and 0009, which remove and log what
they removed in `retention_runs`; the op also reports the counts as output metadata, so each run
in the UI says how many rows it removed (and, for the event store, whose old days are dropped as
whole partitions, how many partitions). Run-history pruning keeps Dagster's own tables bounded.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
from datetime import UTC, datetime, timedelta

import dagster as dg
from psycopg import sql

from everreach.platform import Settings
from everreach_dagster.resources import DatabaseResource

PRUNE_PAGE = 200
FINISHED = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


class RetentionConfig(dg.Config):
    days: int


def _cleanup(
    context: dg.OpExecutionContext, database: DatabaseResource, function: str, days: int
) -> dg.Output[int]:
    """Call a retention function; its rows say, per table, the rows deleted and (for the event
    store, whose day partitions are dropped whole) the partitions dropped."""
    if days < 1:
        raise dg.Failure(f"{function}: days must be >= 1, got {days}")
    with database.connect() as conn:
        cursor = conn.execute(
            sql.SQL("SELECT * FROM {}(%s)").format(sql.Identifier(function)), (days,)
        )
        columns = [c.name for c in cursor.description or ()]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    deleted = {row["table_name"]: row["deleted_rows"] for row in rows}
    dropped = {
        row["table_name"]: row["dropped_partitions"] for row in rows if "dropped_partitions" in row
    }
    context.log.info(f"{function}({days}) deleted {deleted}, dropped partitions {dropped}")
    return dg.Output(
        sum(deleted.values()),
        metadata={
            "keep_days": days,
            **{f"deleted_{table}": dg.MetadataValue.int(n) for table, n in deleted.items()},
            **{
                f"dropped_partitions_{table}": dg.MetadataValue.int(n)
                for table, n in dropped.items()
            },
        },
    )


def retention_jobs(settings: Settings) -> list[dg.JobDefinition]:
    """The three retention jobs, their default windows from the settings."""

    @dg.op(
        description="Remove events (and quarantined events) older than `days` days: old day "
        "partitions dropped whole, the boundary day deleted by row."
    )
    def cleanup_old_events(
        context: dg.OpExecutionContext, config: RetentionConfig, database: DatabaseResource
    ) -> dg.Output[int]:
        return _cleanup(context, database, "cleanup_old_events", config.days)

    @dg.op(description="Delete responses older than `days` days and prompts left without one.")
    def cleanup_old_responses(
        context: dg.OpExecutionContext, config: RetentionConfig, database: DatabaseResource
    ) -> dg.Output[int]:
        return _cleanup(context, database, "cleanup_old_responses", config.days)

    @dg.op(description="Delete finished Dagster runs (and their event logs) older than `days`.")
    def prune_run_history(
        context: dg.OpExecutionContext, config: RetentionConfig
    ) -> dg.Output[int]:
        instance = context.instance
        cutoff = datetime.now(UTC) - timedelta(days=config.days)
        deleted = 0
        while True:
            records = instance.get_run_records(
                filters=dg.RunsFilter(created_before=cutoff, statuses=list(FINISHED)),
                limit=PRUNE_PAGE,
            )
            for record in records:
                instance.delete_run(record.dagster_run.run_id)
            deleted += len(records)
            if len(records) < PRUNE_PAGE:
                break
        context.log.info(f"deleted {deleted} runs created before {cutoff.isoformat()}")
        return dg.Output(deleted, metadata={"deleted_runs": deleted, "keep_days": config.days})

    def config_for(op_name: str, days: int) -> dg.RunConfig:
        return dg.RunConfig(ops={op_name: RetentionConfig(days=days)})

    @dg.job(config=config_for("cleanup_old_events", settings.retention_events_days))
    def cleanup_events_job() -> None:
        cleanup_old_events()

    @dg.job(config=config_for("cleanup_old_responses", settings.retention_responses_days))
    def cleanup_responses_job() -> None:
        cleanup_old_responses()

    @dg.job(config=config_for("prune_run_history", settings.dagster_run_retention_days))
    def prune_run_history_job() -> None:
        prune_run_history()

    return [cleanup_events_job, cleanup_responses_job, prune_run_history_job]

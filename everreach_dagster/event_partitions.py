"""The event store's day partitions as an asset: made ahead every night, DEFAULT watched.

Materializing `app_events_partitions` runs the collector's partition maintenance
(everreach.collector.event_partitions): it makes the partitions of the retention window and the
next `EVERREACH_EVENT_PARTITIONS_AHEAD_DAYS` days, and moves the rows that landed in the DEFAULT
partition into their day's partition. Its check, returned with the materialization, warns when
rows had landed in DEFAULT (the schedule fell behind, or clients sent events from outside the
window) and says how many were moved and how many are still there (too old for a partition, or
too far ahead). A schedule materializes it daily at 00:05 UTC; `everreach migrate` does the same.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
import dagster as dg

from everreach.collector import (
    DefaultDay,
    default_partition_days,
    maintain_partitions,
    partition_span,
)
from everreach.platform import Settings
from everreach_dagster.resources import DatabaseResource
from everreach_dagster.schedules import AssetJob, cron_schedule

ASSET_KEY = dg.AssetKey("app_events_partitions")
DEFAULT_CHECK = "no_events_in_default_partition"


def _days(days: list[DefaultDay]) -> dict[str, int]:
    return {d.day.isoformat(): d.events for d in days}


def event_partitions_asset(settings: Settings) -> dg.AssetsDefinition:
    """The asset whose materialization maintains app_events' day partitions."""

    @dg.asset(
        key=ASSET_KEY,
        group_name="event_store",
        kinds={"postgres"},
        description=(
            "Day partitions of app_events: the retention window and the days ahead exist, "
            "and events that landed in the DEFAULT partition are moved to their day's."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                DEFAULT_CHECK,
                asset=ASSET_KEY,
                description="No event landed in the DEFAULT partition since the last run.",
            )
        ],
    )
    def _partitions(
        context: dg.AssetExecutionContext, database: DatabaseResource
    ) -> dg.MaterializeResult:
        with database.connect() as conn:
            landed = default_partition_days(conn)
            report = maintain_partitions(
                conn, settings.retention_events_days, settings.event_partitions_ahead_days
            )
            span = partition_span(conn)
        left = sum(d.events for d in report.left_in_default)
        context.log.info(
            f"made {len(report.created)} partitions, moved {report.moved_events} events out of"
            f" DEFAULT, {left} left there"
        )
        return dg.MaterializeResult(
            metadata={
                "partitions": span.count,
                "first_day": str(span.first),
                "last_day": str(span.last),
                "created": [day.isoformat() for day in report.created],
                "moved_events": report.moved_events,
                "left_in_default": left,
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=DEFAULT_CHECK,
                    passed=not landed,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "landed_in_default": dg.MetadataValue.json(_days(landed)),
                        "moved_events": report.moved_events,
                        "left_in_default": dg.MetadataValue.json(_days(report.left_in_default)),
                    },
                )
            ],
        )

    return _partitions


def event_partitions_schedule(job: AssetJob) -> dg.ScheduleDefinition:
    return cron_schedule(
        "daily_event_partitions", "5 0 * * *", job, "Make app_events' partitions ahead."
    )


def event_partitions_job(asset: dg.AssetsDefinition) -> AssetJob:
    return dg.define_asset_job(
        "event_partitions",
        selection=dg.AssetSelection.assets(asset),
        description="Make app_events' day partitions ahead and empty its DEFAULT partition.",
    )

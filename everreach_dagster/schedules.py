"""Schedules, all RUNNING by default: a deployment does its nightly work without a click.

Times are UTC: models refresh at 00:15, yesterday's partitions are built at 00:30, the dataset
freshness check runs at 03:05 (its deadline is 03:00), events are cleaned weekly (Sunday
03:00), responses monthly (the 1st, 04:00) and Dagster's run history daily (04:30).
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
from datetime import timedelta

import dagster as dg

# What define_asset_job returns; Dagster does not export the class itself.
AssetJob = type(dg.define_asset_job("_probe"))

RUNNING = dg.DefaultScheduleStatus.RUNNING


def nightly_partitions_schedule(job: AssetJob) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_datasets",
        cron_schedule="30 0 * * *",
        job=job,
        execution_timezone="UTC",
        default_status=RUNNING,
        description="Build yesterday's partition of every daily asset.",
    )
    def nightly_datasets(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
        return dg.RunRequest(run_key=day, partition_key=day)

    return nightly_datasets


def cron_schedule(
    name: str, cron: str, job: dg.JobDefinition | AssetJob, what: str
) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=name,
        cron_schedule=cron,
        job=job,
        execution_timezone="UTC",
        default_status=RUNNING,
        description=what,
    )

"""Re-materializing chosen days in-process, for the command line (`everreach erase-user`).

The CLI asks Dagster directly, on the persistent instance, so the runs show in the UI: the
unpartitioned models first (their tables, e.g. `stg_identity`, are rebuilt whole), then each run
of consecutive days as one run over the range, as a backfill runs it. The API never comes here:
it leaves the days to the freshness sensor (`sensors/freshness.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import dagster as dg

# Dagster's run logger prints every step at DEBUG on its own handler; the commands print a
# summary, and the full event log stays in the instance for the UI.
QUIET_RUN = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def consecutive_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """The days as (first, last) ranges of consecutive days, oldest first."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def range_tags(first: date, last: date) -> dict[str, str]:
    """The tags of one run over a partition range (what a single-run backfill carries)."""
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


def materialize_quietly(
    instance: dg.DagsterInstance,
    assets: list[dg.AssetsDefinition],
    resources: Mapping[str, Any],
    tags: dict[str, str] | None = None,
) -> bool:
    """One quiet in-process run on `instance`; whether it succeeded."""
    return dg.materialize(
        assets,
        resources=resources,
        instance=instance,
        raise_on_error=False,
        run_config=QUIET_RUN,
        tags=tags,
    ).success


def rebuild_days(
    instance: dg.DagsterInstance,
    unpartitioned: list[dg.AssetsDefinition],
    daily: list[dg.AssetsDefinition],
    resources: Mapping[str, Any],
    days: Iterable[date],
) -> int:
    """Refresh the unpartitioned models, then the daily assets of `days`; the failed runs."""
    failed = int(not materialize_quietly(instance, unpartitioned, resources))
    for first, last in consecutive_runs(days):
        failed += not materialize_quietly(instance, daily, resources, range_tags(first, last))
    return failed

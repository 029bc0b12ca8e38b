"""The one partitioning of the platform: UTC days of event / response time."""

from __future__ import annotations

import dagster as dg

from everreach.platform import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Daily partitions from `EVERREACH_PARTITIONS_START`, including today (end_offset=1) so a
    day in progress can be materialized; the nightly schedule asks for yesterday."""
    return dg.DailyPartitionsDefinition(
        start_date=settings.partitions_start, end_offset=1, timezone="UTC"
    )

"""Bringing a database up to date: the migrations, then the event store's day partitions.

Every command that migrates also makes the partitions of the retention window and the days
ahead, as `everreach migrate` does. The migrations alone make only today's and the days ahead:
a database migrated without the rest stores the events of every earlier day (a replay, a phone's
offline queue) in app_events' DEFAULT partition until the nightly maintenance moves them.
`everreach demo` did: the first maintenance after it found 1,311 of its 1,501 events there.
"""

from __future__ import annotations

from everreach.collector import Maintenance, maintain_event_partitions
from everreach.platform import Settings, upgrade


def migrate_database(settings: Settings, database_url: str) -> tuple[list[str], Maintenance]:
    """Apply the pending migrations, then make the missing day partitions; what was applied and
    what the partition maintenance did."""
    applied = upgrade(database_url)
    partitions = maintain_event_partitions(
        database_url, settings.retention_events_days, settings.event_partitions_ahead_days
    )
    return applied, partitions

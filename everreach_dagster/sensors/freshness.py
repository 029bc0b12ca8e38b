"""Late data keeps datasets fresh: rebuild the days whose source changed after they were built.

`late_data_sensor` looks, each tick, at the days whose events arrived since its last look
(`app_events.received_at`, a BRIN range scan) and the days an erasure changed (the day change
log), plus the days it is still waiting on. A day whose source changed after the last
materialization of its daily assets (dataset files, the partitioned model, label metrics) gets
one run request per change (the cursor remembers the change it asked for, and the run key is
the day and the moment of that change, which Dagster also deduplicates): a second tick asks
nothing new until something changes again. The day in progress is left to the
nightly schedule, and so are days never materialized. When a requested day has caught up, the
sensor records an observation on the dataset partition: `caught_up_at` (the materialization
that caught up), `late_rows` (rows received or erased after the earlier one) and
`source_changed_at`.

`erasure_rebuild_sensor` completes erasures requested through the API: it asks once for the
unpartitioned models (their tables, e.g. `stg_identity`, hold ids; the day runs come from the
late-data sensor), and stamps the receipt's `rebuilt_at` once every day it touched and the models
were materialized after the erasure.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from everreach.datasets.day_changes import (
    day_changes_after,
    day_source_states,
    days_received_since,
)
from everreach.privacy import mark_rebuilt, pending_rebuilds
from everreach_dagster.resources import DatabaseResource
from everreach_dagster.schedules import AssetJob

FIRST_LOOKBACK = timedelta(days=7)  # how far back the first tick looks for late events
# Overlap between ticks: an event's received_at is stamped before its transaction commits.
COMMIT_SLACK = timedelta(minutes=1)
CATCH_UP_TAG = "everreach/catch_up"
INTERVAL_S = 120


@dataclass
class Waiting:
    changed_at: str
    late_rows: int


@dataclass
class FreshnessCursor:
    """What the late-data sensor has seen: arrivals up to `received_until`, day changes up to
    `change_id`, and the days it requested and waits on (day -> the change it asked for)."""

    received_until: str | None = None
    change_id: int = 0
    waiting: dict[str, Waiting] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> "FreshnessCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        waiting = {day: Waiting(**w) for day, w in data.get("waiting", {}).items()}
        return cls(data.get("received_until"), data.get("change_id", 0), waiting)

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def last_materialized(
    instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey], partition: str | None
) -> datetime | None:
    """When the run that last materialized the stalest of `keys` (for `partition`) started:
    rows received after that moment may be missing from it. None if one never was."""
    starts = []
    for key in keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=key, asset_partitions=[partition] if partition else None
            ),
            limit=1,
        ).records
        if not records:
            return None
        run = instance.get_run_record_by_id(records[0].run_id)
        starts.append(run.start_time if run and run.start_time else records[0].timestamp)
    return datetime.fromtimestamp(min(starts), UTC)


def late_data_sensor(
    job: AssetJob,
    daily_keys: Sequence[dg.AssetKey],
    dataset_key: dg.AssetKey,
) -> dg.SensorDefinition:
    """The sensor that requests `job` (the daily assets) for days that fell behind."""

    @dg.sensor(
        name="late_data_freshness",
        job=job,
        minimum_interval_seconds=INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Rebuild the days whose events changed after their last materialization.",
    )
    def _late_data(
        context: dg.SensorEvaluationContext, database: DatabaseResource
    ) -> dg.SensorResult:
        cursor = FreshnessCursor.parse(context.cursor)
        now = datetime.now(UTC)
        since = (
            datetime.fromisoformat(cursor.received_until)
            if cursor.received_until
            else now - FIRST_LOOKBACK
        )
        with database.connect() as conn:
            arrivals = days_received_since(conn, since)
            changes = day_changes_after(conn, cursor.change_id)
            candidates = {*arrivals, *(day for _, day in changes)}
            candidates |= {date.fromisoformat(day) for day in cursor.waiting}
            built = {}
            for day in sorted(candidates):
                if day >= now.date():
                    continue  # the day in progress: the nightly schedule builds it
                stamp = last_materialized(context.instance, daily_keys, day.isoformat())
                if stamp is not None:
                    built[day] = stamp
            states = day_source_states(conn, built) if built else []
        requests: list[dg.RunRequest] = []
        observations: list[dg.AssetObservation] = []
        for state in states:
            key = state.day.isoformat()
            if state.changed_at is not None and state.changed_at > built[state.day]:
                changed = state.changed_at.isoformat()
                waiting = cursor.waiting.get(key)
                if waiting is not None and waiting.changed_at == changed:
                    continue  # requested for this very change; its run has not finished
                requests.append(
                    dg.RunRequest(
                        run_key=f"{key}@{changed}",
                        partition_key=key,
                        tags={
                            CATCH_UP_TAG: "late_data",
                            "everreach/late_rows": str(state.late_rows),
                        },
                    )
                )
                cursor.waiting[key] = Waiting(changed, state.late_rows)
            elif key in cursor.waiting:
                waited = cursor.waiting.pop(key)
                observations.append(
                    dg.AssetObservation(
                        asset_key=dataset_key,
                        partition=key,
                        metadata={
                            "caught_up_at": built[state.day].isoformat(),
                            "late_rows": dg.MetadataValue.int(waited.late_rows),
                            "source_changed_at": waited.changed_at,
                        },
                    )
                )
        if arrivals:
            newest = max(arrivals.values()) - COMMIT_SLACK
            cursor.received_until = max(newest, since).isoformat()
        elif cursor.received_until is None:
            cursor.received_until = since.isoformat()
        if changes:
            cursor.change_id = changes[-1][0]
        return dg.SensorResult(
            run_requests=requests, asset_events=observations, cursor=cursor.dump()
        )

    return _late_data


def erasure_rebuild_sensor(
    refresh_job: AssetJob,
    model_keys: Sequence[dg.AssetKey],
    daily_keys: Sequence[dg.AssetKey],
) -> dg.SensorDefinition:
    """The sensor that refreshes the models after an erasure and stamps its receipt rebuilt."""

    @dg.sensor(
        name="erasure_rebuild",
        job=refresh_job,
        minimum_interval_seconds=INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Refresh the models after an erasure; mark the erasure rebuilt when done.",
    )
    def _erasure_rebuild(
        context: dg.SensorEvaluationContext, database: DatabaseResource
    ) -> dg.SensorResult:
        requests: list[dg.RunRequest] = []
        with database.connect() as conn:
            for pending in pending_rebuilds(conn):
                models_at = last_materialized(context.instance, model_keys, None)
                if models_at is None or models_at < pending.requested_at:
                    requests.append(
                        dg.RunRequest(
                            run_key=f"erasure:{pending.receipt_id}",
                            tags={CATCH_UP_TAG: "erasure"},
                        )
                    )
                    continue
                behind = [
                    day
                    for day in pending.days
                    if (stamp := last_materialized(context.instance, daily_keys, day.isoformat()))
                    is not None
                    and stamp < pending.requested_at
                ]
                if not behind:
                    mark_rebuilt(conn, pending.receipt_id)
                    context.log.info(f"erasure {pending.receipt_id} rebuilt")
        return dg.SensorResult(run_requests=requests)

    return _erasure_rebuild

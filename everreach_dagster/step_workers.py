"""Which Celery worker executed each step of a run, read back from Dagster's event log.

dagster-celery's step task records an engine event naming its Celery node (`w1@host`) before it
runs the step, so the event log alone says where each step ran: no Celery result backend to ask,
and the answer outlives the workers. `everreach demo` and `everreach materialize` print it after
a backfill in celery mode; the reliability tests and the backfill benchmark assert on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import dagster as dg

WORKER_METADATA = "Celery worker"  # the metadata key of dagster_celery.tasks' engine event


def step_workers(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> dict[str, str]:
    """`<run id prefix>:<step key>` -> the Celery node that executed the step; steps that ran
    outside Celery (local mode, in-process runs) are absent."""
    found: dict[str, str] = {}
    for run_id in run_ids:
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            event = record.dagster_event
            data = event.engine_event_data if event else None
            if event and data and WORKER_METADATA in data.metadata:
                found[f"{run_id[:8]}:{event.step_key}"] = str(data.metadata[WORKER_METADATA].value)
    return found


def worker_name(node: str) -> str:
    """The `everreach worker --name` behind a Celery node name (`w1@host` -> `w1`)."""
    return node.split("@", 1)[0]


def steps_per_worker(steps: Mapping[str, str]) -> dict[str, int]:
    """How many of `steps` (from `step_workers`) each worker executed, by worker name."""
    return dict(sorted(Counter(worker_name(node) for node in steps.values()).items()))

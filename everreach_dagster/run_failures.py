"""Why a run failed, read back from Dagster's event log, in one line per failure.

A backfill that ends COMPLETED_FAILED told the terminal only which days failed; the reason sat
in the UI's run page. `everreach demo` and `everreach materialize` print these lines under the
summary, so the person at the terminal (and a CI log) sees the failing step and its error
without opening the UI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

FAILURES = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}


@dataclass(frozen=True)
class RunFailure:
    """One failed step of a run (or the run itself), as the terminal prints it."""

    run_id: str
    partitions: str  # the run's partition or range, as its tags name it
    step: str | None  # None for a failure of the run itself (e.g. its worker died)
    message: str

    def line(self) -> str:
        where = f"step {self.step}" if self.step else "the run"
        return f"run {self.run_id[:8]} ({self.partitions}), {where}: {self.message}"


def _partitions(run: dg.DagsterRun) -> str:
    tags = run.tags
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if not start:
        return "no partition"
    return start if start == end else f"{start} to {end}"


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


def _root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error's message: Dagster wraps the user's exception in "Error occurred
    while executing op ...", which names the step (said already) but not what went wrong."""
    while error.cause is not None:
        error = error.cause
    return _first_line(error.message)


def run_failures(instance: dg.DagsterInstance, runs: Iterable[dg.DagsterRun]) -> list[RunFailure]:
    """Each failed step of `runs`, with the first line of its error; a run that failed with no
    failed step (its process or worker died) appears once with the run's own message."""
    found: list[RunFailure] = []
    for run in runs:
        if run.status != dg.DagsterRunStatus.FAILURE:
            continue
        steps: list[RunFailure] = []
        whole: RunFailure | None = None
        for record in instance.all_logs(run.run_id, of_type=FAILURES):
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_FAILURE:
                error = event.step_failure_data.error
                message = _root_cause(error) if error else _first_line(event.message or "")
                steps.append(RunFailure(run.run_id, _partitions(run), event.step_key, message))
            else:
                message = _first_line(event.message or record.user_message or "failed")
                whole = RunFailure(run.run_id, _partitions(run), None, message)
        found.extend(steps or ([whole] if whole else []))
    return found

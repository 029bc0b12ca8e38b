"""Why a run failed, as `everreach demo` and `everreach materialize` print it under a backfill
that ended COMPLETED_FAILED: real in-process runs on an ephemeral instance, read back from its
event log."""

from __future__ import annotations

import dagster as dg

from everreach_dagster.run_failures import run_failures

DAYS = dg.DailyPartitionsDefinition(start_date="2026-11-01")


@dg.asset(partitions_def=DAYS)
def upstream() -> int:
    return 1


@dg.asset(partitions_def=DAYS)
def breaks(upstream: int) -> int:
    raise ValueError(f"no rows for {upstream}\nsecond line of detail")


def _run(instance: dg.DagsterInstance, selection: list[dg.AssetsDefinition]) -> dg.DagsterRun:
    result = dg.materialize(
        selection, instance=instance, partition_key="2026-11-29", raise_on_error=False
    )
    return result.dagster_run


def test_a_failed_step_is_named_with_its_root_error_and_the_runs_day() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        failed = _run(instance, [upstream, breaks])
        passed = _run(instance, [upstream])
        (failure,) = run_failures(instance, [failed, passed])
    assert failure.step == "breaks"
    assert failure.partitions == "2026-11-29"
    # the user's exception, not Dagster's "Error occurred while executing op" wrapper
    assert failure.message == "ValueError: no rows for 1"
    assert failure.line() == (
        f"run {failed.run_id[:8]} (2026-11-29), step breaks: ValueError: no rows for 1"
    )


def test_runs_that_succeeded_have_no_failures() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_failures(instance, [_run(instance, [upstream])]) == []

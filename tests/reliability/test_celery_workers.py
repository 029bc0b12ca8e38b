"""Scale-out mode for real: a Dagster daemon and two `everreach worker` processes on Redis, the
datasets on moto's S3 server, Dagster's runs and events in Postgres.

A backfill of several days is split into one-day runs whose steps run on both workers, and its
files are byte-identical to the local mode's. A worker SIGKILLed while it holds a run leaves the
run failed (run monitoring pings the worker), and re-executing it from failure on the surviving
worker writes the same bytes. The broker is its own Redis database, so nothing else is touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.scheduler.instigation import InstigatorStatus

from everreach.datasets.partitions import DatasetStore
from everreach.platform.migrations import scratch_database
from everreach_dagster.step_workers import worker_name
from tests.conftest import TEST_JWT_SECRET, make_settings
from tests.dagster_cluster import (
    Cluster,
    celery_environment,
    dataset_files,
    days_ending,
    materialize_locally,
    running_cluster,
    s3_store,
    seed_traffic,
    utc,
)
from tests.helpers import redis_answers
from tests.s3_server import s3_server

pytestmark = [pytest.mark.slow, pytest.mark.external, pytest.mark.timeout(900)]

BROKER_URL = os.environ.get("EVERREACH_TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
END = utc(2026, 4, 5)
DAYS = days_ending(END, 4)
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE}


@dataclass
class Scenario:
    cluster: Cluster
    reference: dict[str, bytes]
    store: DatasetStore


@pytest.fixture(scope="module")
def scenario(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    if not redis_answers(BROKER_URL):
        pytest.skip(f"no Redis at {BROKER_URL}")
    with scratch_database(pg_server_url, "everreach_celery") as url, s3_server() as s3:
        local_home = tmp_path_factory.mktemp("local")
        local = make_settings(local_home, url, rate_limit_events=1_000_000)
        seed_traffic(local, url, users=30, days=len(DAYS), end=END)
        materialize_locally(local, url, DAYS)
        reference = dataset_files(DatasetStore.local(local.datasets_uri), DAYS)
        home = tmp_path_factory.mktemp("celery")
        env = celery_environment(
            url,
            home,
            s3,
            BROKER_URL,
            f"dagster_{uuid.uuid4().hex[:8]}",
            EVERREACH_JWT_SECRET=TEST_JWT_SECRET,
            EVERREACH_BACKFILL_DAYS_PER_RUN="1",
        )
        store = s3_store(env)
        with running_cluster(env, home, url, ["w1", "w2"]) as cluster:
            yield Scenario(cluster, reference, store)


def test_the_daemon_runs_no_schedule_or_sensor_of_its_own(scenario: Scenario) -> None:
    """What the tests below compare must come from their own runs alone: a schedule firing at
    its wall-clock time (the monthly response cleanup, 04:00 UTC on the 1st) emptied the seeded
    days under a backfill once."""
    schedules, sensors = scenario.cluster.automation()
    declared = {instigator.name for instigator in [*schedules, *sensors]}
    stopped = {
        state.instigator_name
        for state in scenario.cluster.instance.all_instigator_state()
        if state.status == InstigatorStatus.STOPPED
    }
    assert declared and declared <= stopped, declared - stopped


def test_a_backfill_runs_on_both_workers_and_writes_the_local_modes_bytes(
    scenario: Scenario,
) -> None:
    cluster = scenario.cluster
    backfill_id = cluster.submit_backfill(DAYS)
    assert cluster.wait_for_backfill(backfill_id) == BulkActionStatus.COMPLETED_SUCCESS
    runs = cluster.backfill_runs(backfill_id)
    assert len(runs) == len(DAYS)  # one day per run (EVERREACH_BACKFILL_DAYS_PER_RUN=1)
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    steps = cluster.step_workers([run.run_id for run in runs])
    # every step of every run was a Celery task: 3 assets and the dataset's freshness check
    assert len(steps) == 4 * len(DAYS), steps
    assert {worker_name(node) for node in steps.values()} == {"w1", "w2"}, steps
    assert dataset_files(scenario.store, DAYS) == scenario.reference


def test_a_killed_workers_run_fails_and_reexecutes_on_the_survivor_with_the_same_bytes(
    scenario: Scenario,
) -> None:
    cluster = scenario.cluster
    day = DAYS[-1]
    key = f"dt={day.isoformat()}/"
    scenario.store.fs.delete_dir(scenario.store.path("ml_response_samples", key.rstrip("/")))
    run = cluster.wait_for_backfill_run(cluster.submit_backfill([day]))
    started = cluster.wait_for_run(run.run_id, {dg.DagsterRunStatus.STARTED})
    holder = cluster.run_holder(started)
    assert holder in ("w1", "w2")
    cluster.kill_worker(holder)
    failed = cluster.wait_for_run(run.run_id, FINISHED)
    assert failed.status == dg.DagsterRunStatus.FAILURE, "the run finished before the kill landed"

    child = cluster.reexecute_from_failure(failed)
    done = cluster.wait_for_run(child.run_id, FINISHED)
    assert done.status == dg.DagsterRunStatus.SUCCESS
    (survivor,) = cluster.workers
    steps = cluster.step_workers([child.run_id])
    assert {worker_name(node) for node in steps.values()} == {survivor}
    files = dataset_files(scenario.store, [day])
    assert files == {k: v for k, v in scenario.reference.items() if key in k}

"""The run launcher's health check on a real Redis result backend: a run whose Celery task is
STARTED on a worker that no longer answers is reported failed (the stock check says RUNNING for
ever), so run monitoring can fail it. The live-worker side runs in
tests/reliability/test_celery_workers.py."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest
from dagster._core.launcher import WorkerStatus
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from everreach_dagster.execution import RUN_QUEUE, PingingCeleryRunLauncher
from tests.helpers import redis_answers
from tests.reliability.test_celery_workers import BROKER_URL

pytestmark = pytest.mark.external


def test_a_started_run_on_a_silent_worker_is_reported_failed() -> None:
    if not redis_answers(BROKER_URL):
        pytest.skip(f"no Redis at {BROKER_URL}")
    launchers = [
        cls(default_queue=RUN_QUEUE, broker=BROKER_URL, backend=BROKER_URL)
        for cls in (CeleryRunLauncher, PingingCeleryRunLauncher)
    ]
    task_id = str(uuid.uuid4())
    gone = f"gone-{task_id[:8]}@nowhere"
    launchers[0].celery.backend.store_result(task_id, {"pid": 1, "hostname": gone}, "STARTED")
    run = dg.DagsterRun(job_name="probe", tags={DAGSTER_CELERY_TASK_ID_TAG: task_id})
    stock, ours = (launcher.check_run_worker_health(run) for launcher in launchers)
    assert stock.status == WorkerStatus.RUNNING
    assert ours.status == WorkerStatus.FAILED
    assert gone in (ours.msg or "")
    launchers[0].celery.backend.forget(task_id)

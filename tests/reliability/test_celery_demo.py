"""`everreach demo` in scale-out mode, as the README's "Scaling out" runs it on one machine: two
`everreach worker` processes on Redis, the datasets on moto's S3 server, and the demo as a real
subprocess that starts its own Dagster daemon for its backfill.

The backfill must leave the demo's host: every run launched as a Celery task, its steps executed
on both workers (their names in Dagster's event log, and in the demo's own output), and every
day's files on S3, none on a local disk.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from everreach.platform.migrations import scratch_database
from everreach_cli.demo_datasets import SOURCE, demo_days
from everreach_cli.materialize import SOURCE_TAG, placement
from everreach_dagster.step_workers import worker_name
from tests.conftest import TEST_JWT_SECRET
from tests.dagster_cluster import (
    REPO,
    celery_environment,
    dataset_files,
    running_cluster,
    s3_store,
)
from tests.helpers import redis_answers
from tests.s3_server import s3_server

pytestmark = [pytest.mark.slow, pytest.mark.external, pytest.mark.timeout(900)]

BROKER_URL = os.environ.get("EVERREACH_TEST_CELERY_DEMO_BROKER_URL", "redis://127.0.0.1:6379/12")
HISTORY_DAYS = 3  # the demo's --days: its backfill covers them (and today, once it has events)
DEMO_ARGS = ("--users", "20", "--days", str(HISTORY_DAYS))
STEPS_PER_RUN = 4  # 3 daily assets and the dataset's freshness check


def test_the_demos_backfill_runs_on_both_workers_and_writes_to_s3(
    pg_server_url: str, tmp_path: Path
) -> None:
    if not redis_answers(BROKER_URL):
        pytest.skip(f"no Redis at {BROKER_URL}")
    with scratch_database(pg_server_url, "everreach_celery_demo") as url, s3_server() as s3:
        env = celery_environment(
            url,
            tmp_path,
            s3,
            BROKER_URL,
            f"dagster_demo_{uuid.uuid4().hex[:8]}",
            EVERREACH_JWT_SECRET=TEST_JWT_SECRET,
            # one day per run: several runs at once, so both workers surely get steps
            EVERREACH_BACKFILL_DAYS_PER_RUN="1",
        )
        with running_cluster(env, tmp_path, url, ["w1", "w2"], daemon=False) as cluster:
            demo = subprocess.run(
                [*(sys.executable, "-m", "everreach_cli", "demo"), *DEMO_ARGS],
                env={**os.environ, **env},
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=720,
            )
            assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:]
            assert re.search(r"failed dagster runs\s+0\n", demo.stdout), demo.stdout

            (backfill,) = [
                b for b in cluster.instance.get_backfills() if b.tags.get(SOURCE_TAG) == SOURCE
            ]
            assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS
            days = demo_days(url)
            # its traffic ends now: today has events or not, depending on the hour
            assert len(days) in (HISTORY_DAYS, HISTORY_DAYS + 1), days
            runs = cluster.backfill_runs(backfill.backfill_id)
            assert len(runs) == len(days)
            assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
            assert all(DAGSTER_CELERY_TASK_ID_TAG in run.tags for run in runs)  # Celery-launched
            steps = cluster.step_workers([run.run_id for run in runs])
            assert len(steps) == STEPS_PER_RUN * len(runs), steps
            assert {worker_name(node) for node in steps.values()} == {"w1", "w2"}, steps
            assert placement(cluster.instance, runs) in demo.stdout

            files = dataset_files(s3_store(env), days)
            assert len(files) == 3 * len(days) and all(files.values())
            assert f"s3://{s3.bucket}/datasets/ml_response_samples/dt={days[-1]}" in demo.stdout
            assert not (tmp_path / "datasets").exists()

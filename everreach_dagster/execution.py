"""Where Dagster runs execute: on this machine (`local`) or on Celery workers (`celery`).

`EVERREACH_EXECUTION` picks the mode; everything that differs between the two lives here:

- the instance template (`dagster.yaml` or `dagster.celery.yaml`: the queued run coordinator in
  both; in celery mode `CeleryRunLauncher` sends each run to a worker, and run monitoring fails a
  run whose worker stopped answering),
- the executor (in celery mode each step of a run is its own Celery task, so the independent
  steps of a run go to different workers),
- where IO-manager outputs go (S3 in celery mode: no worker's disk is seen by another),
- the backfill policy of the daily assets (ranges split into runs of k days, so a backfill
  spreads over every worker).

Runs and steps use separate queues: a run's task waits while its steps run, so a worker that
took runs in the same pool as steps could fill every slot with waiting runs. `everreach worker`
starts one Celery worker for each queue (see `worker_commands`).

Celery is configured for lost workers: tasks are acknowledged when they end (`task_acks_late`),
one at a time (`worker_prefetch_multiplier=1`), and the broker hands a dead worker's task to
another after `EVERREACH_CELERY_VISIBILITY_TIMEOUT_S`. A run whose worker was killed outright is
failed by the daemon's run monitoring, which asks the worker holding it for a ping.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster_aws.s3 import S3PickleIOManager, S3Resource
from dagster_celery import celery_executor
from dagster_celery.defaults import broker_transport_options
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from everreach.platform import Settings

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = {"local": REPO / "dagster.yaml", "celery": REPO / "dagster.celery.yaml"}
STEP_QUEUE = "dagster"  # dagster-celery's default queue for steps
RUN_QUEUE = "dagster-runs"  # `default_queue` of the run launcher in dagster.celery.yaml
CELERY_BACKFILL_DAYS_PER_RUN = 5
PING_TIMEOUT_S = 3.0
IO_PREFIX = "dagster-io"


class ExecutionConfigError(ValueError):
    """The settings cannot run the chosen execution mode; the message says what to set."""


def check_execution_settings(settings: Settings) -> None:
    """Refuse celery mode without a broker, or with files on a local disk no other host sees."""
    if settings.execution != "celery":
        return
    if not settings.celery_broker_url:
        raise ExecutionConfigError(
            "EVERREACH_EXECUTION=celery needs EVERREACH_CELERY_BROKER_URL "
            "(e.g. redis://127.0.0.1:6379/0)"
        )
    if not settings.datasets_uri.startswith("s3://"):
        raise ExecutionConfigError(
            "EVERREACH_EXECUTION=celery needs EVERREACH_DATASETS_ROOT=s3://bucket/prefix: "
            f"workers on other hosts cannot see the local folder {settings.datasets_uri}"
        )


def backend_url(settings: Settings) -> str | None:
    return settings.celery_backend_url or settings.celery_broker_url


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings shared by the executor, the run launcher and the workers."""
    return {
        "task_acks_late": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {
            **broker_transport_options,
            "visibility_timeout": settings.celery_visibility_timeout_s,
        },
    }


def instance_template(settings: Settings) -> Path:
    return TEMPLATES[settings.execution]


def instance_environment(settings: Settings) -> dict[str, str]:
    """The variables the mode's instance template reads (`env:` entries)."""
    if settings.execution != "celery":
        return {}
    return {
        "EVERREACH_CELERY_BROKER_URL": settings.celery_broker_url or "",
        "EVERREACH_CELERY_BACKEND_URL": backend_url(settings) or "",
    }


def executor(settings: Settings) -> dg.ExecutorDefinition | None:
    """The executor of every job in celery mode (None keeps Dagster's multiprocess default)."""
    if settings.execution != "celery":
        return None
    return celery_executor.configured(
        {
            "broker": settings.celery_broker_url,
            "backend": backend_url(settings),
            "config_source": celery_config(settings),
        },
        name="everreach_celery",
    )


def io_manager_resources(settings: Settings, s3: S3Resource) -> dict[str, Any]:
    """In celery mode, outputs passed between steps are pickled to `<datasets root>/dagster-io`."""
    if settings.execution != "celery":
        return {}
    bucket, _, prefix = settings.datasets_uri.removeprefix("s3://").partition("/")
    io_prefix = f"{prefix}/{IO_PREFIX}" if prefix else IO_PREFIX
    return {"io_manager": S3PickleIOManager(s3_resource=s3, s3_bucket=bucket, s3_prefix=io_prefix)}


def daily_backfill_policy(settings: Settings) -> dg.BackfillPolicy:
    """k days per run when configured (celery mode: 5 by default), else the whole range in one."""
    days = settings.backfill_days_per_run
    if days is None and settings.execution == "celery":
        days = CELERY_BACKFILL_DAYS_PER_RUN
    if days is None:
        return dg.BackfillPolicy.single_run()
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=days)


def worker_commands(
    name: str, concurrency: int, queues: tuple[str, ...], loglevel: str
) -> list[list[str]]:
    """The Celery workers behind one `everreach worker`: `<name>` takes steps from `queues`,
    `<name>-runs` takes whole runs (which mostly wait for their steps) from the run queue."""

    def celery(node: str, node_queues: tuple[str, ...]) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "everreach_dagster.celery_app",
            "worker",
            "--hostname",
            f"{node}@%h",
            "--queues",
            ",".join(node_queues),
            "--concurrency",
            str(concurrency),
            "--prefetch-multiplier",
            "1",
            "--loglevel",
            loglevel,
            "--without-mingle",
            "--without-gossip",
        ]

    return [celery(name, queues), celery(f"{name}-runs", (RUN_QUEUE,))]


class PingingCeleryRunLauncher(CeleryRunLauncher):
    """dagster-celery's run launcher, plus a health check that notices a dead worker.

    A worker killed outright (SIGKILL, a lost host) leaves its task STARTED in the result backend
    for good, and the stock check reports it RUNNING forever. This one pings the worker that
    started the task (its name is in the task's STARTED record): no answer means the run's worker
    is gone, and run monitoring fails the run so it can be re-executed elsewhere.
    """

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        health = super().check_run_worker_health(run)
        if health.status != WorkerStatus.RUNNING:
            return health
        started = self.celery.AsyncResult(run.tags[DAGSTER_CELERY_TASK_ID_TAG]).info
        worker = started.get("hostname") if isinstance(started, dict) else None
        if not worker:
            return health
        replies = self.celery.control.ping(destination=[worker], timeout=PING_TIMEOUT_S)
        if any(worker in reply for reply in replies):
            return health
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"Celery worker {worker} running the run does not answer."
        )

"""Dagster in scale-out mode, for real, on one machine: a daemon and `everreach worker` processes
on Redis, files on an S3-compatible server, runs and events in Postgres.

Shared by the reliability tests and `bench/backfill_workers.py`: seed a database with synthetic
traffic, materialize the reference files in local mode, start the cluster, submit a backfill,
wait for it, read which workers ran the steps, kill a worker, re-execute a run from failure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from unittest import mock

import dagster as dg
import psutil
import redis
from celery import Celery
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.execution.plan.resume_retry import ReexecutionStrategy
from dagster._core.remote_representation.external import RemoteSchedule, RemoteSensor
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster_celery.make_app import make_app
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from api.app import create_app
from api.server import serve_in_thread
from everreach.accounts.tokens import TokenCodec
from everreach.datasets.partitions import (
    CSV,
    PARQUET,
    DatasetStore,
    csv_parts,
    manifest_parts,
    partition_parts,
)
from everreach.platform.database import Database, drop_database
from everreach.platform.settings import Settings
from everreach_cli.materialize import backfill_runs
from everreach_cli.replay import replay
from everreach_cli.synthetic_traffic import generate_traffic
from everreach_dagster.definitions import build_assets
from everreach_dagster.instance import prepare_dagster_home
from everreach_dagster.resources import DatasetStorageResource, default_resources, s3_resource
from everreach_dagster.step_workers import step_workers, worker_name
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = REPO / "workspace.yaml"
DATASET = "ml_response_samples"
DAILY_KEYS = [
    dg.AssetKey(DATASET),
    dg.AssetKey(["datasets", f"{DATASET}_files"]),
    dg.AssetKey("label_metrics"),
]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def seed_traffic(
    settings: Settings, database_url: str, users: int, days: int, end: datetime
) -> int:
    """Replay `days` of synthetic traffic through the real API; returns the requests sent."""
    requests = generate_traffic(users=users, days=days, seed=23, end=end)
    tokens = TokenCodec(settings.jwt_secret or "")
    with serve_in_thread(create_app(settings, database_url)) as base_url:
        stats = asyncio.run(replay(base_url, requests, tokens))
    assert not stats.failed_requests, stats
    return len(requests)


def materialize_locally(settings: Settings, database_url: str, days: list[date]) -> None:
    """The models, then the days in one in-process run: the reference the workers must match."""
    graph = build_assets(settings)
    resources = default_resources(settings, database_url)
    instance = dg.DagsterInstance.ephemeral()
    for assets, tags in (
        (graph.unpartitioned, None),
        (
            graph.daily,
            {
                "dagster/asset_partition_range_start": days[0].isoformat(),
                "dagster/asset_partition_range_end": days[-1].isoformat(),
            },
        ),
    ):
        result = dg.materialize(
            assets, resources=resources, instance=instance, tags=tags, run_config=QUIET
        )
        assert result.success


def dataset_files(store: DatasetStore, days: list[date]) -> dict[str, bytes]:
    """Every file of the days' dataset partitions (Parquet, CSV, manifest), by its path."""
    files: dict[str, bytes] = {}
    for day in days:
        for parts in (
            (*partition_parts(DATASET, day), PARQUET),
            (*csv_parts(DATASET, day), CSV),
            manifest_parts(DATASET, day),
        ):
            files["/".join(parts)] = store.read_bytes(*parts)
    return files


def s3_store(env: Mapping[str, str]) -> DatasetStore:
    """The datasets store the cluster's processes write to (its S3 root)."""
    settings = as_settings(env)
    return DatasetStorageResource(root=settings.datasets_uri, s3=s3_resource(settings)).store()


def celery_environment(
    database_url: str,
    home: Path,
    s3: S3Server,
    broker_url: str,
    dagster_database: str,
    **extra: str,
) -> dict[str, str]:
    """The settings every process of the cluster shares."""
    return {
        "EVERREACH_EXECUTION": "celery",
        "EVERREACH_CELERY_BROKER_URL": broker_url,
        "EVERREACH_DATABASE_URL": database_url,
        "EVERREACH_DAGSTER_DATABASE": dagster_database,
        "EVERREACH_HOME": str(home),
        "EVERREACH_DATASETS_ROOT": f"s3://{s3.bucket}/datasets",
        "EVERREACH_S3_ENDPOINT_URL": s3.endpoint_url,
        "EVERREACH_S3_REGION": REGION,
        "EVERREACH_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "EVERREACH_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "EVERREACH_LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class Cluster:
    """A running daemon and workers, and the instance and workspace they share."""

    env: dict[str, str]
    logs: Path
    instance: dg.DagsterInstance
    workspace: WorkspaceProcessContext
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def context(self) -> WorkspaceRequestContext:
        return self.workspace.create_request_context()

    @cached_property
    def celery(self) -> Celery:
        """A Celery client on the cluster's broker, to ping workers and read task states."""
        url = self.env["EVERREACH_CELERY_BROKER_URL"]
        return make_app({"broker": url, "backend": url})

    def automation(self) -> tuple[list[RemoteSchedule], list[RemoteSensor]]:
        """The schedules and the sensors the workspace declares."""
        context = self.context
        repositories = [
            repository
            for name in context.code_location_names
            for repository in context.get_code_location(name).get_repositories().values()
        ]
        return (
            [schedule for r in repositories for schedule in r.get_schedules()],
            [sensor for r in repositories for sensor in r.get_sensors()],
        )

    def stop_automation(self) -> None:
        """Stop every schedule and sensor of the workspace, so that the daemon runs only what a
        test submits. Left on, they fire at their wall-clock times in the middle of a test: the
        monthly response cleanup (04:00 UTC on the 1st) once deleted the seeded April responses
        under a backfill, whose files then came out empty."""
        schedules, sensors = self.automation()
        for schedule in schedules:
            self.instance.stop_schedule(
                schedule.get_remote_origin_id(), schedule.selector_id, schedule
            )
        for sensor in sensors:
            self.instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)

    def start_worker(self, name: str, concurrency: int = 1) -> None:
        log = (self.logs / f"worker-{name}.log").open("ab")
        self.workers[name] = subprocess.Popen(
            [
                *(sys.executable, "-m", "everreach_cli", "worker", "--name", name),
                *("--concurrency", str(concurrency), "--grace", "20"),
            ],
            env={**os.environ, **self.env},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_for_workers(self, timeout_s: float = 120) -> None:
        """Until each worker's step and run nodes answer a ping."""
        expected = {f"{n}{suffix}" for n in self.workers for suffix in ("", "-runs")}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            replies = self.celery.control.ping(timeout=1)
            answered = {worker_name(node) for reply in replies for node in reply}
            if expected <= answered:
                return
            for name, process in self.workers.items():
                assert process.poll() is None, f"worker {name} exited; see {self.logs}"
        raise TimeoutError(f"workers {expected} did not all answer; see {self.logs}")

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker and every process it started, as a lost host would go."""
        wrapper = self.workers.pop(name)
        processes = [psutil.Process(wrapper.pid), *psutil.Process(wrapper.pid).children(True)]
        for process in processes:
            process.send_signal(signal.SIGKILL)
        wrapper.wait()
        psutil.wait_procs(processes, timeout=10)

    def submit_backfill(self, days: list[date]) -> str:
        context = self.context
        backfill = PartitionBackfill.from_asset_partitions(
            backfill_id=uuid.uuid4().hex[:8],
            asset_graph=context.asset_graph,
            partition_names=[day.isoformat() for day in days],
            asset_selection=DAILY_KEYS,
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=self.instance,
            all_partitions=False,
            title=None,
            description=None,
            run_config=None,
        )
        self.instance.add_backfill(backfill)
        return backfill.backfill_id

    def wait_for_backfill(self, backfill_id: str, timeout_s: float = 600) -> BulkActionStatus:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            backfill = self.instance.get_backfill(backfill_id)
            assert backfill is not None
            if backfill.status not in (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING):
                return backfill.status
            time.sleep(1)
        raise TimeoutError(f"backfill {backfill_id} still running; see {self.logs}")

    def backfill_runs(self, backfill_id: str) -> list[dg.DagsterRun]:
        return list(backfill_runs(self.instance, backfill_id))

    def runs_span(self, backfill_id: str) -> float:
        """Seconds from the first run's start to the last run's end."""
        records = self.instance.get_run_records(filters=dg.RunsFilter.for_backfill(backfill_id))
        return max(r.end_time or 0 for r in records) - min(r.start_time or 0 for r in records)

    def wait_for_backfill_run(self, backfill_id: str, timeout_s: float = 120) -> dg.DagsterRun:
        """The first run the daemon creates for the backfill."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if runs := self.backfill_runs(backfill_id):
                return runs[0]
            time.sleep(0.2)
        raise TimeoutError(f"backfill {backfill_id} made no run; see {self.logs}")

    def wait_for_run(
        self, run_id: str, statuses: set[dg.DagsterRunStatus], timeout_s: float = 300
    ) -> dg.DagsterRun:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.instance.get_run_by_id(run_id)
            if run is not None and run.status in statuses:
                return run
            time.sleep(0.2)
        raise TimeoutError(f"run {run_id} never reached {statuses}; see {self.logs}")

    def run_holder(self, run: dg.DagsterRun) -> str | None:
        """The worker (its `everreach worker --name`) whose run node started the run."""
        task_id = self.instance.get_run_by_id(run.run_id).tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        info = self.celery.AsyncResult(task_id).info if task_id else None
        node = info.get("hostname") if isinstance(info, dict) else None
        return worker_name(node).removesuffix("-runs") if node else None

    def step_workers(self, run_ids: list[str]) -> dict[str, str]:
        """Step -> the Celery node that executed it, from Dagster's event log."""
        return step_workers(self.instance, run_ids)

    def reexecute_from_failure(self, run: dg.DagsterRun) -> dg.DagsterRun:
        context = self.context
        origin = run.remote_job_origin
        assert origin is not None
        location = context.get_code_location(origin.location_name)
        repository = location.get_repository(origin.repository_origin.repository_name)
        child = self.instance.create_reexecuted_run(
            request_context=context,
            parent_run=run,
            code_location=location,
            remote_job=repository.get_full_job(run.job_name),
            strategy=ReexecutionStrategy.FROM_FAILURE,
            use_parent_run_tags=True,
        )
        self.instance.submit_run(child.run_id, context)
        return child


@contextmanager
def running_cluster(
    env: Mapping[str, str],
    home: Path,
    database_url: str,
    workers: list[str],
    daemon: bool = True,
) -> Iterator[Cluster]:
    """Prepare the Dagster home, start the daemon (unless the code under test starts its own,
    as `everreach demo` does) and the workers; stop them all afterwards."""
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    redis.Redis.from_url(env["EVERREACH_CELERY_BROKER_URL"]).flushdb()
    with ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, env))
        settings = Settings()
        dagster_env = prepare_dagster_home(home, Database(url=database_url), settings=settings)
        stack.callback(drop_database, database_url, settings.dagster_database)
        full_env = {**env, **dagster_env}
        instance = stack.enter_context(dg.DagsterInstance.get())
        workspace = stack.enter_context(
            WorkspaceProcessContext(instance, WorkspaceFileTarget([str(WORKSPACE)]))
        )
        cluster = Cluster(full_env, logs, instance, workspace)
        if daemon:
            cluster.stop_automation()
            stack.callback(_stop_group, _start_daemon(full_env, logs))
        stack.callback(_stop_workers, cluster)
        for name in workers:
            cluster.start_worker(name)
        cluster.wait_for_workers()
        yield cluster


def _start_daemon(env: Mapping[str, str], logs: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(WORKSPACE)],
        env={**os.environ, **env},
        cwd=env["DAGSTER_HOME"],
        stdout=(logs / "daemon.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop_workers(cluster: Cluster) -> None:
    for process in cluster.workers.values():
        process.terminate()
    for process in cluster.workers.values():
        process.wait(timeout=60)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def days_ending(end: datetime, count: int) -> list[date]:
    return [(end - timedelta(days=d)).date() for d in range(count, 0, -1)]


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def as_settings(env: Mapping[str, Any], **overrides: Any) -> Settings:
    with mock.patch.dict(os.environ, {k: str(v) for k, v in env.items()}):
        return Settings(**overrides)

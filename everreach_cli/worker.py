"""`everreach worker`: Dagster's Celery workers for one host, started and stopped as one.

The Celery workers (one for steps, one for whole runs: see everreach_dagster/execution.py) run as
children in a process group of their own, with the Dagster home of the celery template, the
database and the settings of this process. SIGTERM or Ctrl-C stops the group with Celery's warm
shutdown (running tasks finish; late acknowledgement hands the unfinished ones to another worker
if the grace period runs out), and the command returns only once no process of the group is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import click

from everreach.platform import Settings, database_session
from everreach_cli.schema import migrate_database
from everreach_dagster.execution import (
    ExecutionConfigError,
    check_execution_settings,
    worker_commands,
)
from everreach_dagster.instance import prepare_dagster_home

REPO = Path(__file__).resolve().parents[1]
POLL_S = 0.5


def run_worker(
    settings: Settings, name: str, concurrency: int, queues: tuple[str, ...], grace_s: float
) -> int:
    if settings.execution != "celery":
        raise click.ClickException(
            "everreach worker serves the scale-out mode: set EVERREACH_EXECUTION=celery "
            "(with EVERREACH_CELERY_BROKER_URL and an s3:// EVERREACH_DATASETS_ROOT)"
        )
    try:
        check_execution_settings(settings)
    except ExecutionConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        env = {
            **os.environ,
            **prepare_dagster_home(settings.home_dir, database, settings=settings),
            "EVERREACH_DATABASE_URL": database.url,
            "EVERREACH_HOME": str(settings.home_dir),
        }
        commands = worker_commands(name, concurrency, queues, settings.log_level)
        leader = subprocess.Popen(commands[0], env=env, cwd=REPO, process_group=0)
        children = [leader]
        try:
            children += [
                subprocess.Popen(command, env=env, cwd=REPO, process_group=leader.pid)
                for command in commands[1:]
            ]
            click.echo(
                f"worker {name}: steps from {', '.join(queues)}, runs too; "
                f"{concurrency} process(es) each (Ctrl-C to stop)",
                err=True,
            )
            while all(child.poll() is None for child in children):
                time.sleep(POLL_S)
            return max(abs(child.returncode or 0) for child in children if child.poll() is not None)
        except (KeyboardInterrupt, SystemExit):  # Ctrl-C or SIGTERM: a requested stop
            return 0
        finally:
            stop_group(leader.pid, children, grace_s)


def stop_group(group: int, children: list[subprocess.Popen[bytes]], grace_s: float) -> None:
    """SIGTERM to the group (Celery's warm shutdown), SIGKILL after `grace_s`; returns when no
    process of the group is left."""
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while _group_alive(group, children) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    _signal_group(group, signal.SIGKILL)
    while _group_alive(group, children):
        time.sleep(POLL_S / 5)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_alive(group: int, children: list[subprocess.Popen[bytes]]) -> bool:
    for child in children:
        child.poll()  # reap our own children, so the group check below sees no zombie of ours
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True

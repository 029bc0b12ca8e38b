"""`everreach worker` as an operator runs it: its Celery workers answer on the broker, and SIGTERM
stops them all (a warm shutdown), leaving no `celery` process of its group behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dagster_celery.make_app import make_app

from everreach_dagster.step_workers import worker_name
from tests.helpers import redis_answers
from tests.reliability.test_celery_workers import BROKER_URL

pytestmark = [pytest.mark.slow, pytest.mark.external]


def test_sigterm_stops_every_celery_process_of_the_worker(database_url: str, tmp_path: Path):
    if not redis_answers(BROKER_URL):
        pytest.skip(f"no Redis at {BROKER_URL}")
    env = {
        **os.environ,
        "EVERREACH_EXECUTION": "celery",
        "EVERREACH_CELERY_BROKER_URL": BROKER_URL,
        "EVERREACH_DATASETS_ROOT": "s3://unused-bucket/datasets",
        "EVERREACH_DATABASE_URL": database_url,
        "EVERREACH_HOME": str(tmp_path),
    }
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "everreach_cli", "worker", "--name", "sigterm-probe"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    celery = make_app({"broker": BROKER_URL, "backend": BROKER_URL})
    try:
        deadline = time.monotonic() + 90
        nodes: set[str] = set()
        while {"sigterm-probe", "sigterm-probe-runs"} - nodes and time.monotonic() < deadline:
            assert wrapper.poll() is None, wrapper.stderr.read().decode()[-3000:]
            replies = celery.control.ping(timeout=1)
            nodes = {worker_name(node) for reply in replies for node in reply}
        assert {"sigterm-probe", "sigterm-probe-runs"} <= nodes
        children = psutil.Process(wrapper.pid).children(recursive=True)
        groups = {os.getpgid(child.pid) for child in children}
        assert len(children) >= 4  # two Celery workers and their pool processes
        assert groups.isdisjoint({os.getpgid(wrapper.pid)})  # a process group of their own

        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=60) == 0
        assert not [child for child in children if child.is_running()]
        for group in groups:
            with pytest.raises(ProcessLookupError):
                os.killpg(group, 0)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()

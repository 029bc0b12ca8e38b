"""`everreach dev` (what `make dev` runs) on the embedded default: it says when the Dagster UI
answers, the UI shows the code location by its name, and Ctrl-C stops everything quietly."""

from __future__ import annotations

import select
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from api.server import free_port
from everreach.platform.embedded_postgres import running_postmaster_pid
from tests.e2e.test_embedded_default import EVERREACH, cli_env

READY_TIMEOUT_S = 180


@pytest.mark.slow  # `dagster dev` takes half a minute to answer
def test_dev_says_when_the_ui_is_ready_and_stops_quietly_on_ctrl_c(tmp_path: Path) -> None:
    api_port, dagster_port = free_port(), free_port()
    process = subprocess.Popen(
        [EVERREACH, "dev", "--api-port", str(api_port), "--dagster-port", str(dagster_port)],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + READY_TIMEOUT_S
        assert process.stdout is not None
        while time.monotonic() < deadline and not any("ready" in line for line in lines):
            readable, _, _ = select.select([process.stdout], [], [], 1.0)
            if readable:
                lines.append(process.stdout.readline())
            assert process.poll() is None, "".join(lines) + process.stderr.read()
        assert f"Dagster UI ready on http://127.0.0.1:{dagster_port}" in "".join(lines), lines
        info = httpx.get(f"http://127.0.0.1:{dagster_port}/server_info", timeout=10)
        assert info.status_code == 200
        query = {"query": "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"}
        answer = httpx.post(f"http://127.0.0.1:{dagster_port}/graphql", json=query, timeout=30)
        names = [e["name"] for e in answer.json()["data"]["workspaceOrError"]["locationEntries"]]
        assert names == ["everreach"]
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "Warning" not in err, err
    assert dagster_processes(tmp_path.resolve() / "dagster") == []  # none outlives the command
    assert running_postmaster_pid(tmp_path.resolve() / "pgdata") is None


def dagster_processes(dagster_home: Path) -> list[list[str]]:
    """Command lines of the live processes whose DAGSTER_HOME is `dagster_home`."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.environ().get("DAGSTER_HOME") == str(dagster_home):
                found.append(process.info["cmdline"])
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found

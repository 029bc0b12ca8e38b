"""The default path a newcomer takes: the embedded Postgres, through the real CLI.

These always use the embedded server (EVERREACH_DATABASE_URL is removed from the environment),
whatever server the rest of the suite runs against.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from api.server import free_port
from everreach.platform.embedded_postgres import running_postmaster_pid

EVERREACH = str(Path(sys.executable).with_name("everreach"))


def cli_env(home: Path) -> dict[str, str]:
    outside = ("EVERREACH_", "POSTHOG_", "MI_WEBHOOK_", "RESEND_", "FROM_EMAIL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env["EVERREACH_HOME"] = str(home)
    return env


def run_cli(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVERREACH, *args], env=cli_env(home), capture_output=True, text=True, timeout=timeout
    )


def figure(output: str, label: str) -> int:
    match = re.search(rf"^\s*{label}\s+(\d+)\s*$", output, re.MULTILINE)
    assert match, f"no '{label}' line in:\n{output}"
    return int(match.group(1))


# Two demos, each ending in a real Dagster backfill (the daemon takes it up within 30 s).
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_replays_traffic_on_the_embedded_server_and_stops_it(tmp_path):
    home = tmp_path / "home"
    first = run_cli(home, "demo", "--users", "40", "--days", "2", "--seed", "3")
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "embedded Postgres" in out
    accepted = figure(out, "events accepted")
    assert accepted > 50
    assert figure(out, "duplicates") > 0  # the generator retries some requests
    assert figure(out, "quarantined") > 0  # and sends a few events the plan refuses
    assert figure(out, "failed requests") == 0
    assert figure(out, "app_events") == accepted
    assert figure(out, "prompts") > 0 and figure(out, "responses") > 0
    assert running_postmaster_pid(home.resolve() / "pgdata") is None  # stopped cleanly

    # The same seed again: the very same events, all recognised as duplicates.
    second = run_cli(home, "demo", "--users", "40", "--days", "2", "--seed", "3")
    assert second.returncode == 0, second.stdout + second.stderr
    assert figure(second.stdout, "events accepted") == 0
    assert figure(second.stdout, "app_events") == accepted


def test_migrate_is_idempotent(tmp_path):
    home = tmp_path / "home"
    first = run_cli(home, "migrate")
    assert first.returncode == 0, first.stderr
    assert "applied: 0001_foundation" in first.stdout
    second = run_cli(home, "migrate")
    assert second.stdout.strip() == "database is up to date"


def test_server_left_by_a_killed_process_is_reused_then_stopped(tmp_path):
    home = tmp_path / "home"
    pgdata = home.resolve() / "pgdata"
    port = free_port()
    serve = subprocess.Popen(
        [EVERREACH, "serve", "--port", str(port)],
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "everreach serve did not become ready"
            time.sleep(0.2)
        postmaster = running_postmaster_pid(pgdata)
        assert postmaster is not None
    finally:
        serve.send_signal(signal.SIGKILL)
        serve.wait()
    assert psutil.pid_exists(postmaster)  # left behind by the killed process

    url = run_cli(home, "db-url")
    assert url.returncode == 0 and url.stdout.startswith("postgresql+psycopg://")
    assert running_postmaster_pid(pgdata) == postmaster  # reused, not a second server

    migrate = run_cli(home, "migrate")
    assert migrate.returncode == 0, migrate.stderr
    assert running_postmaster_pid(pgdata) is None  # the last holder stopped it
    assert not psutil.pid_exists(postmaster) or psutil.Process(postmaster).status() == "zombie"


def test_a_broken_tracking_plan_stops_start_up_naming_the_line(tmp_path):
    plan = tmp_path / "events.yml"
    plan.write_text(
        "version: 1\ncategories:\n  ai: AI\nevents:\n  prompt_submitted:\n    category: ai\n"
        "    description: A prompt\n    properties:\n      temperature:\n        type: float\n"
        "labels: {}\n"
    )
    env = {**cli_env(tmp_path / "home"), "EVERREACH_TRACKING_PLAN": str(plan)}
    started = subprocess.run(
        [EVERREACH, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert f"{plan.name}:10:" in started.stderr and "float" in started.stderr, started.stderr


def test_sigterm_stops_the_command_and_its_embedded_server(tmp_path):
    home = tmp_path / "home"
    demo = subprocess.Popen(
        [EVERREACH, "demo", "--users", "200", "--days", "10"],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in demo.stdout:  # wait until it is replaying through its API
        if "replaying through" in line:
            break
    assert running_postmaster_pid(home.resolve() / "pgdata") is not None
    demo.send_signal(signal.SIGTERM)
    assert demo.wait(timeout=60) == 128 + signal.SIGTERM
    assert running_postmaster_pid(home.resolve() / "pgdata") is None

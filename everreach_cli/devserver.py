"""`everreach dev`: the API and the Dagster UI (`dagster dev`) on one database, for development.

The API runs in this process; `dagster dev` (webserver + daemon, so schedules tick) runs as a
child with `DAGSTER_HOME` prepared from the repo's dagster.yaml and `EVERREACH_DATABASE_URL`
pointing at the same server, so the code location attaches to the embedded server this process
started instead of starting another. The command says when the UI answers. Ctrl-C stops both
quietly: the child runs in a session of its own (the terminal's SIGINT reaches only this
process, which then sends SIGINT to the child's whole process group) and logs warnings only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx

from api.app import create_app
from api.server import serve_in_thread
from everreach.platform import Settings, database_session
from everreach_cli.materialize import environment, partitions_from_data
from everreach_cli.schema import migrate_database

REPO = Path(__file__).resolve().parents[1]
READY_POLL_S = 0.5
STOP_SIGNALS = ((signal.SIGINT, 30.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0))


def wait_until_ready(child: subprocess.Popen[bytes], url: str) -> bool:
    """Poll the webserver until it answers (True) or the child has exited (False)."""
    while child.poll() is None:
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(READY_POLL_S)
    return False


def stop(child: subprocess.Popen[bytes]) -> None:
    """Stop `dagster dev` and everything it started (its webserver, daemon, code servers).

    SIGINT to the whole process group first, which is what Ctrl-C in a terminal would have
    sent and what `dagster dev` shuts down cleanly on (it hangs on SIGTERM and orphans its
    children); then harder signals for whatever is left.
    """
    for signum, patience_s in STOP_SIGNALS:
        if child.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=patience_s)
    with contextlib.suppress(ProcessLookupError):  # stragglers of the group, if any
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def run_dev(settings: Settings, api_port: int, dagster_port: int) -> int:
    with database_session(settings) as database:
        migrate_database(settings, database.url)
        env = environment(partitions_from_data(settings, database), database)
        # `dagster dev` itself is "superseded by dg dev" and says so on every start; only
        # that one message is silenced, in the Dagster processes only.
        env["PYTHONWARNINGS"] = "ignore:Function `dev_command` is superseded"
        dagster = str(Path(sys.executable).with_name("dagster"))
        command = [
            dagster,
            "dev",
            "-w",
            str(REPO / "workspace.yaml"),
            "-p",
            str(dagster_port),
            "--log-level",
            "warning",
        ]
        ui = f"http://127.0.0.1:{dagster_port}"
        with serve_in_thread(
            create_app(settings, database.url),
            port=api_port,
            keep_alive_s=settings.http_keep_alive_s,
        ) as base_url:
            click.echo(f"API on {base_url} (OpenAPI at {base_url}/schema)")
            click.echo(f"Dagster UI starting on {ui} ...")
            # Run from DAGSTER_HOME: the repo's dagster.yaml is a template, not the instance.
            child = subprocess.Popen(
                command, env=env, cwd=env["DAGSTER_HOME"], start_new_session=True
            )
            try:
                if wait_until_ready(child, ui):
                    click.echo(f"Dagster UI ready on {ui} (Ctrl-C stops both)")
                child.wait()
            except KeyboardInterrupt:
                click.echo("stopping...")
                return 0
            finally:  # Ctrl-C, SIGTERM (SystemExit) or an error: the Dagster child stops too
                stop(child)
            return child.returncode

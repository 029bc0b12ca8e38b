"""`everreach dev`: the API and the Dagster UI (`dagster dev`) on one database, for development.

The API runs in this process; `dagster dev` (webserver + daemon, so schedules tick) runs as a
child with `DAGSTER_HOME` prepared from the repo's dagster.yaml and `EVERREACH_DATABASE_URL`
pointing at the same server, so the code location attaches to the embedded server this process
started instead of starting another. Ctrl-C stops both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from api.app import create_app
from api.server import serve_in_thread
from everreach.platform import Settings, database_session, upgrade
from everreach_dagster.instance import prepare_dagster_home

REPO = Path(__file__).resolve().parents[1]


def run_dev(settings: Settings, api_port: int, dagster_port: int) -> int:
    with database_session(settings) as database:
        upgrade(database.url)
        env = {
            **os.environ,
            **prepare_dagster_home(settings.home_dir, database, settings=settings),
            "EVERREACH_DATABASE_URL": database.url,
            "EVERREACH_HOME": str(settings.home_dir),
        }
        dagster = str(Path(sys.executable).with_name("dagster"))
        command = [dagster, "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(dagster_port)]
        with serve_in_thread(create_app(settings, database.url), port=api_port) as base_url:
            click.echo(f"API on {base_url} (OpenAPI at {base_url}/schema)")
            click.echo(f"Dagster UI on http://127.0.0.1:{dagster_port} (starting...)")
            # Run from DAGSTER_HOME: the repo's dagster.yaml is a template, not the instance.
            child = subprocess.Popen(command, env=env, cwd=env["DAGSTER_HOME"])
            try:
                child.wait()
            except KeyboardInterrupt:
                pass
            finally:  # Ctrl-C, SIGTERM (SystemExit) or an error: the Dagster child stops too
                if child.poll() is None:
                    child.terminate()
                    child.wait(timeout=30)
            return child.returncode

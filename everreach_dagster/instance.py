"""The persistent Dagster instance: `dagster.yaml` over a `dagster` database beside the app's.

Used by the composition root (`everreach dev`, `everreach demo`) so runs and schedules live in
the same Postgres as the data, on the embedded server by default.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from everreach.platform import Database, with_driver

TEMPLATE = Path(__file__).resolve().parents[1] / "dagster.yaml"
DAGSTER_DATABASE = "dagster"
URL_ENV = "EVERREACH_DAGSTER_PG_URL"


def prepare_dagster_home(
    home: Path, database: Database, name: str = DAGSTER_DATABASE
) -> dict[str, str]:
    """Write `<home>/dagster/dagster.yaml` and return the environment Dagster needs.

    The URL keeps a socket directory as a `?host=` query when the server is embedded; libpq
    (behind psycopg2) reads it from there.
    """
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATE, dagster_home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(dagster_home),
        URL_ENV: with_driver(database.sibling(name), "psycopg2"),
    }
    os.environ.update(env)
    return env

"""The persistent Dagster instance: a template over a `dagster` database beside the app's.

Used by the composition root (`everreach dev`, `everreach demo`, `everreach worker`) so runs and
schedules live in the same Postgres as the data, on the embedded server by default. The template
is the execution mode's (`dagster.yaml`, or `dagster.celery.yaml` with `EVERREACH_EXECUTION=celery`,
see everreach_dagster/execution.py); it is copied, never edited.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from everreach.platform import Database, Settings, with_driver
from everreach_dagster.execution import (
    check_execution_settings,
    instance_environment,
    instance_template,
)

URL_ENV = "EVERREACH_DAGSTER_PG_URL"


def prepare_dagster_home(
    home: Path,
    database: Database,
    name: str | None = None,
    settings: Settings | None = None,
) -> dict[str, str]:
    """Write `<home>/dagster/dagster.yaml` and return the environment Dagster needs.

    `settings` chooses the execution mode's template (local when not given) and, unless `name`
    is given, the database (`EVERREACH_DAGSTER_DATABASE`, default `dagster`). The URL keeps a
    socket directory as a `?host=` query when the server is embedded; libpq (behind psycopg2)
    reads it from there.
    """
    settings = settings or Settings(execution="local")
    check_execution_settings(settings)
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(instance_template(settings), dagster_home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(dagster_home),
        URL_ENV: with_driver(database.sibling(name or settings.dagster_database), "psycopg2"),
        **instance_environment(settings),
    }
    os.environ.update(env)
    return env

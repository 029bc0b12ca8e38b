"""A Dagster instance on Postgres for tests: the repo's dagster.yaml over a scratch database.

The same template `everreach dev` uses, so what a test reads back (materializations, check
evaluations, backfills) went through dagster-postgres exactly as in a deployment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from everreach.platform.database import Database, drop_database
from everreach_dagster.instance import prepare_dagster_home

DAGSTER_ENV = ("DAGSTER_HOME", "EVERREACH_DAGSTER_PG_URL")


@contextmanager
def postgres_instance(server_url: str, home: Path) -> Iterator[dg.DagsterInstance]:
    """A fresh Dagster instance stored in its own database on `server_url`, dropped after."""
    name = f"dagster_{uuid.uuid4().hex[:8]}"
    saved = {k: os.environ.get(k) for k in DAGSTER_ENV}
    try:
        env = prepare_dagster_home(home, Database(url=server_url), name)
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            yield instance
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        drop_database(server_url, name)


def latest_materialization(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str
) -> dg.AssetMaterialization:
    """The newest materialization of one partition, as the UI's partition page shows it."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    assert records, f"{key.to_user_string()} {partition} was never materialized"
    materialization = records[0].asset_materialization
    assert materialization is not None
    return materialization

"""The resources every asset and job shares, defined once: the database and the datasets root.

Both read the same `EVERREACH_*` settings as the API, so the code location and the API agree on
where the data is without any Dagster-specific configuration.
"""

# Dagster reads resource field annotations at definition time: no postponed annotations.
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from everreach.datasets import DatasetStore, presigner
from everreach.platform import (
    Database,
    Settings,
    analytics_connection,
    libpq_url,
    open_database,
    upgrade,
)


class DatabaseResource(dg.ConfigurableResource):
    """The application database: `url` when given, else `EVERREACH_DATABASE_URL` or the embedded
    server under `EVERREACH_HOME` (attached to, or started and stopped with the run).

    The database is migrated when a run starts (idempotent), so assets can rely on the
    `analytics` schema and the retention functions existing.
    """

    url: str | None = None
    _database: Database | None = PrivateAttr(default=None)
    _url: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.url:
            self._url = libpq_url(self.url)
        else:
            self._database = open_database(Settings())
            self._url = self._database.url
        upgrade(self._url)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._database is not None:
            self._database.close()

    @property
    def conninfo(self) -> str:
        """The libpq URL, for callers that open their own (e.g. asyncio) connections."""
        assert self._url is not None, "the resource was not set up"
        return self._url

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An analytics connection (autocommit, no JIT: see `analytics_connection`)."""
        assert self._url is not None, "the resource was not set up"
        with analytics_connection(self._url) as conn:
            yield conn


class DatasetStorageResource(dg.ConfigurableResource):
    """The datasets root: a local folder, or `s3://bucket/prefix` through dagster-aws's
    S3Resource (any S3-compatible endpoint via its `endpoint_url`)."""

    root: str
    s3: S3Resource

    def store(self) -> DatasetStore:
        if not self.root.startswith("s3://"):
            return DatasetStore.local(self.root)
        return DatasetStore.s3(
            self.root,
            endpoint_url=self.s3.endpoint_url,
            region=self.s3.region_name or "us-east-1",
            access_key=self.s3.aws_access_key_id,
            secret_key=self.s3.aws_secret_access_key,
            presign=presigner(self.s3.get_client()),
        )


def s3_resource(settings: Settings) -> S3Resource:
    secret = settings.s3_secret_access_key
    return S3Resource(
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )


def default_resources(settings: Settings, database_url: str | None = None) -> dict[str, object]:
    """The resources for a deployment described by `settings` (tests pass a database URL)."""
    return {
        "database": DatabaseResource(url=database_url or settings.database_url),
        "datasets": DatasetStorageResource(root=settings.datasets_uri, s3=s3_resource(settings)),
    }

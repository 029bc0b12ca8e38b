"""Shared fixtures: a real Postgres, a migrated database per session, a real HTTP API.

The server is `EVERREACH_TEST_DATABASE_URL` when set (CI points it at the machine's Postgres),
otherwise an embedded server started in a temporary folder. Either way each test session gets a
database of its own, migrated from scratch, and drops it at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.app import create_app
from api.server import serve_in_thread
from everreach.accounts.tokens import TokenCodec
from everreach.platform.embedded_postgres import start_embedded
from everreach.platform.migrations import scratch_database
from everreach.platform.settings import Settings

TEST_JWT_SECRET = "test-only-signing-key-" + "0" * 32


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """libpq URL of the Postgres server the session uses (external or embedded)."""
    external = os.environ.get("EVERREACH_TEST_DATABASE_URL")
    if external:
        try:
            psycopg.connect(external, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            pytest.exit(f"EVERREACH_TEST_DATABASE_URL={external} does not answer: {exc}", 2)
        yield external
        return
    server = start_embedded(tmp_path_factory.mktemp("embedded") / "pgdata")
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    with scratch_database(pg_server_url, "everreach_test") as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the session's database, for assertions in SQL."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def make_settings(home: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "log_format": "console",
        # Never forward test traffic to a real service configured in the developer's shell.
        "posthog_api_key": None,
        "mi_webhook_url": None,
        # Every test logs in from 127.0.0.1: the per-client limit is tested on its own.
        "login_limit_per_ip": 1_000_000,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
def tokens() -> TokenCodec:
    return TokenCodec(TEST_JWT_SECRET)


ApiFactory = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture(scope="session")
def start_api(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> ApiFactory:
    """Start a real API on 127.0.0.1 with settings overrides; yields an httpx client for it."""

    @contextmanager
    def factory(**overrides: Any) -> Iterator[httpx.Client]:
        home = overrides.pop("home", None) or tmp_path_factory.mktemp("home")
        settings = make_settings(home, database_url, **overrides)
        with (
            serve_in_thread(
                create_app(settings, database_url), keep_alive_s=settings.http_keep_alive_s
            ) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            yield client

    return factory


@pytest.fixture(scope="session")
def api(start_api: ApiFactory) -> Iterator[httpx.Client]:
    """The API with default settings, shared by the session (tests use their own ids)."""
    with start_api() as client:
        yield client

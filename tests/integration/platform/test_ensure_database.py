"""`ensure_database` from several processes at once, as when two `everreach worker`s and the
demo start together on a fresh server: every caller returns and the database exists."""

from __future__ import annotations

import threading
import uuid

import psycopg

from everreach.platform.database import drop_database, ensure_database, with_database

CALLERS = 6


def test_concurrent_callers_all_succeed(pg_server_url: str) -> None:
    name = f"everreach_race_{uuid.uuid4().hex[:10]}"
    barrier = threading.Barrier(CALLERS)
    errors: list[BaseException] = []

    def create() -> None:
        barrier.wait()
        try:
            ensure_database(pg_server_url, name)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(CALLERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        psycopg.connect(with_database(pg_server_url, name)).close()
    finally:
        drop_database(pg_server_url, name)

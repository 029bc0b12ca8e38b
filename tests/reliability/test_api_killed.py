"""The API is killed with SIGKILL under load while clients retry with the same event ids:
every event the API acknowledged is in app_events, and none twice."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from api.server import free_port, spawn_api
from tests.helpers import api_env, event, serve_args

pytestmark = pytest.mark.slow

BATCHES = 120
BATCH_SIZE = 50
KILLS = 3
DEADLINE_S = 180


def start(database_url: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    return spawn_api(serve_args(port), api_env(database_url, home), port)


def test_acknowledged_events_survive_sigkill_exactly_once(database_url, db, tmp_path):
    port = free_port()
    batches = [
        [
            event("signup_started", {"method": "email"}, anonymous_id=str(uuid.uuid4()))
            for _ in range(BATCH_SIZE)
        ]
        for _ in range(BATCHES)
    ]
    acknowledged: list[str] = []
    retries = 0
    done = threading.Event()

    def client() -> None:
        nonlocal retries
        deadline = time.monotonic() + DEADLINE_S
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for batch in batches:
                while time.monotonic() < deadline:
                    try:
                        response = http.post("/v1/ingest", json={"batch": batch})
                    except httpx.HTTPError:
                        retries += 1
                        time.sleep(0.05)
                        continue
                    if response.status_code == 200:
                        results = response.json()["results"]
                        assert {r["status"] for r in results} <= {"accepted", "duplicate"}
                        acknowledged.extend(r["event_id"] for r in results)
                        break
                    retries += 1
                    time.sleep(0.05)
        done.set()

    process = start(database_url, tmp_path / "home", port)
    worker = threading.Thread(target=client)
    worker.start()
    try:
        for kill in range(KILLS):
            target = (kill + 1) * BATCHES * BATCH_SIZE // (KILLS + 2)
            while len(acknowledged) < target and not done.is_set():
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            process.wait()
            process = start(database_url, tmp_path / "home", port)
        worker.join(DEADLINE_S)
    finally:
        process.terminate()
        process.wait(timeout=20)

    sent = [e["event_id"] for batch in batches for e in batch]
    assert len(acknowledged) == len(sent), "the client gave up before every batch was acked"
    assert retries > 0, "no request was interrupted: the kills did not happen under load"
    stored = db.execute(
        "SELECT event_id::text, count(*) FROM app_events WHERE event_id = ANY(%s::uuid[]) "
        "GROUP BY event_id",
        (sent,),
    ).fetchall()
    counts = dict(stored)
    assert set(acknowledged) <= set(counts), "an acknowledged event is missing"
    assert all(count == 1 for count in counts.values())

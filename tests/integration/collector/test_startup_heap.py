"""The API keeps garbage collection off the collector's path: its start-up objects are frozen out
of full collections, and young objects are collected rarely (the single-event tail, and 6-7 % of
the API's CPU under batch load)."""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor

import httpx

from api.app import create_app
from api.server import api_subprocess, free_port, serve_in_thread
from tests.conftest import make_settings
from tests.helpers import api_env, event, metric_value, serve_args


def test_start_up_objects_are_frozen_out_of_full_collections(database_url, tmp_path) -> None:
    """Full collections used to scan ~210 000 start-up objects, a 50-120 ms stall of every
    request in flight; frozen, they are skipped."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = create_app(make_settings(tmp_path, database_url), database_url)
    with serve_in_thread(app):
        assert gc.get_freeze_count() > 100_000


def _young_collections(client: httpx.Client) -> float:
    """Young-generation collections the API process has run, from its /metrics."""
    return metric_value(client.get("/metrics").text, "python_gc_collections_total", generation="0")


def test_concurrent_batches_run_next_to_no_young_collections(database_url, tmp_path) -> None:
    """40 batches of 100 events, 16 requests at a time (each request in flight holds hundreds of
    tracked objects: its task, futures, rows): at Python's default threshold the API ran 33 young
    collections here, about one per 120 events; now none, or one or two at most."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    def send(_: int) -> int:
        batch = [event("signup_started", {"method": "email"}) for _ in range(100)]
        return client.post("/v1/ingest", json={"batch": batch}).json()["accepted"]

    with (
        api_subprocess(serve_args(port), api_env(database_url, tmp_path), port),
        httpx.Client(
            base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=16)
        ) as client,
        ThreadPoolExecutor(16) as pool,
    ):
        before = _young_collections(client)
        assert before > 0, "/metrics has no young collections: start-up runs some, always"
        assert sum(pool.map(send, range(40))) == 4000
        assert _young_collections(client) - before <= 2

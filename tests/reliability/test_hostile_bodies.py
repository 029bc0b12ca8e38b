"""Malformed, oversize, deeply nested, wrongly typed and gzip-bomb bodies: each a clear 4xx with a
machine-readable code, the server's memory bounded, nothing stored."""

from __future__ import annotations

import gzip
import json
import uuid

import httpx
import psutil
import pytest

from api.server import api_subprocess, free_port
from tests.helpers import api_env, serve_args

pytestmark = pytest.mark.slow

MARKER = str(uuid.uuid4())  # every hostile event carries it, so "nothing stored" is checkable


def hostile_bodies() -> list[tuple[str, bytes, dict[str, str], int, str]]:
    """(label, body, extra headers, expected status, expected code)."""
    deep = b'{"name":"x","anonymous_id":"' + MARKER.encode() + b'","props":' + b'{"a":' * 5000
    deep += b"1" + b"}" * 5001
    bomb = gzip.compress(b" " * 300_000_000, compresslevel=9)
    big = json.dumps(
        {
            "name": "signup_started",
            "anonymous_id": MARKER,
            "props": {"method": "email", "pad": "x" * 2_000_000},
        }
    ).encode()
    wrong = json.dumps(
        {"batch": [{"name": "signup_started", "anonymous_id": MARKER, "props": "not an object"}]}
    ).encode()
    many = json.dumps(
        {
            "batch": [
                {"name": "signup_started", "anonymous_id": MARKER, "props": {"method": "email"}}
            ]
            * 1001
        }
    ).encode()
    return [
        ("malformed", b'{"name": "signup_started", "props": {', {}, 400, "malformed_json"),
        (
            "truncated gzip",
            gzip.compress(big)[:200],
            {"content-encoding": "gzip"},
            400,
            "malformed_encoding",
        ),
        ("deep nesting", deep, {}, 422, "too_deep"),
        ("gzip bomb", bomb, {"content-encoding": "gzip"}, 413, "payload_too_large"),
        ("oversize", big, {}, 413, "payload_too_large"),
        ("wrong type", wrong, {}, 422, "invalid_event"),
        ("too many events", many, {}, 413, "batch_too_large"),
        ("not json", b"\x00\xff\xfe", {}, 400, "malformed_json"),
    ]


def test_hostile_bodies_get_4xx_bounded_memory_and_store_nothing(database_url, db, tmp_path):
    port = free_port()
    env = api_env(database_url, tmp_path / "home", EVERREACH_RATE_LIMIT_EVENTS="600")
    bodies = hostile_bodies()
    with (
        api_subprocess(serve_args(port), env, port) as process,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
    ):
        server = psutil.Process(process.pid)
        client.post("/v1/ingest", content=b"{}", headers={"content-type": "application/json"})
        baseline_mb = server.memory_info().rss / 2**20
        peak_mb = baseline_mb
        for _ in range(5):
            for label, body, headers, status, code in bodies:
                response = client.post(
                    "/v1/ingest",
                    content=body,
                    headers={"content-type": "application/json", **headers},
                )
                assert response.status_code == status, f"{label}: {response.text[:300]}"
                assert response.json()["code"] == code, label
                peak_mb = max(peak_mb, server.memory_info().rss / 2**20)
    assert peak_mb - baseline_mb < 150, f"RSS grew from {baseline_mb:.0f} to {peak_mb:.0f} MB"
    stored = db.execute(
        "SELECT (SELECT count(*) FROM app_events WHERE anonymous_id = %(m)s)"
        " + (SELECT count(*) FROM quarantined_events WHERE anonymous_id = %(m)s)",
        {"m": MARKER},
    ).fetchone()[0]
    assert stored == 0

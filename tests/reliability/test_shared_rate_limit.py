"""Two API processes sharing the Redis limit: one user's events admitted across both stay within
1 % of the per-user limit, however the requests are spread."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest

from api.server import api_subprocess, free_port
from tests.conftest import TEST_JWT_SECRET
from tests.helpers import api_env, bearer, event, new_id, serve_args

pytestmark = [pytest.mark.slow, pytest.mark.external]

LIMIT = 600
REQUESTS = 240
BATCH = 10  # 2400 events offered, four times the limit
REDIS_URL = os.environ.get("EVERREACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_limit_holds_within_one_percent_across_two_processes(database_url, tokens, tmp_path):
    if not redis_answers():
        pytest.skip(f"no Redis at {REDIS_URL}")
    user = new_id()
    headers = bearer(tokens, user)
    env = api_env(
        database_url,
        tmp_path / "home",
        EVERREACH_JWT_SECRET=TEST_JWT_SECRET,
        EVERREACH_REDIS_URL=REDIS_URL,
        EVERREACH_RATE_LIMIT_EVENTS=str(LIMIT),
        EVERREACH_RATE_LIMIT_WINDOW_S="3600",  # no window edge inside the run
    )
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(api_subprocess(serve_args(port), env, port))
        clients = [
            stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30))
            for p in ports
        ]

        def send(index: int) -> int:
            batch = [
                event("message_sent", {"contact_id": "c", "channel": "sms"}) for _ in range(BATCH)
            ]
            response = clients[index % 2].post("/v1/ingest", json={"batch": batch}, headers=headers)
            assert response.status_code in (200, 429), response.text
            return response.json()["accepted"] if response.status_code == 200 else 0

        with ThreadPoolExecutor(max_workers=16) as pool:
            admitted = sum(pool.map(send, range(REQUESTS)))
    assert abs(admitted - LIMIT) <= LIMIT * 0.01, f"{admitted} admitted for a limit of {LIMIT}"

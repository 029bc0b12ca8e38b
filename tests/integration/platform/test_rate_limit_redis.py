"""The Redis rate limiter against a real server: same semantics as memory, shared across processes.

Uses ``EVERREACH_TEST_REDIS_URL`` when set, else ``redis://127.0.0.1:6379/0``; skipped when that
server is unreachable. Each test works under its own random key prefix and deletes its keys after.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from everreach.platform.rate_limit import RateDecision, RateLimiterUnavailable, RedisRateLimiter

pytestmark = pytest.mark.external

# A window far longer than any test: nothing charged during a test leaves it while it runs.
LONG_WINDOW_S = 3600


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get("EVERREACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis not reachable at {url} (set EVERREACH_TEST_REDIS_URL): {exc}")
    finally:
        client.close()
    return url


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def prefix(sync_redis: redis.Redis) -> Iterator[str]:
    value = f"everreach:test:rl:{uuid.uuid4().hex}:"
    yield value
    keys = list(sync_redis.scan_iter(match=value + "*", count=1_000))
    if keys:
        sync_redis.delete(*keys)


def server_seconds(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def charged(client: redis.Redis, key: str) -> int:
    """Events a key holds over all its live slots."""
    return sum(int(n) for n in client.hvals(key))


def test_exactly_limit_events_pass_then_next_is_refused_with_retry_after(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    async def run() -> tuple[list[RateDecision], RateDecision]:
        limiter = RedisRateLimiter(redis_url, limit=10, window_s=LONG_WINDOW_S, prefix=prefix)
        try:
            allowed = [await limiter.acquire({"user:1": 1}) for _ in range(10)]
            return allowed, await limiter.acquire({"user:1": 1})
        finally:
            await limiter.aclose()

    before = server_seconds(sync_redis)
    allowed, refused = asyncio.run(run())
    after = server_seconds(sync_redis)
    assert all(d.allowed and d.retry_after_s == 0 for d in allowed)
    assert [d.remaining for d in allowed] == list(range(9, -1, -1))
    assert not refused.allowed
    assert refused.limited_key == "user:1"
    assert refused.remaining == 0
    # The events' slot (60 s wide) leaves the window one window and up to one slot later.
    slot_s = LONG_WINDOW_S / 60
    assert LONG_WINDOW_S - (after - before) <= refused.retry_after_s <= LONG_WINDOW_S + slot_s + 1


def test_counting_is_in_events_and_refused_batches_charge_nothing(
    redis_url: str, prefix: str
) -> None:
    async def run() -> list[RateDecision]:
        limiter = RedisRateLimiter(redis_url, limit=600, window_s=LONG_WINDOW_S, prefix=prefix)
        try:
            return [
                *[await limiter.acquire({"anon:a": 100}) for _ in range(5)],
                await limiter.acquire({"anon:a": 101}),  # only 100 left: refused whole
                await limiter.acquire({"anon:a": 100}),  # so the 100 are still there
                await limiter.acquire({"anon:a": 1}),
            ]
        finally:
            await limiter.aclose()

    decisions = asyncio.run(run())
    assert [d.allowed for d in decisions] == [True] * 5 + [False, True, False]
    assert decisions[5].remaining == 100
    assert decisions[6].remaining == 0


def test_all_or_nothing_across_keys(redis_url: str, prefix: str, sync_redis: redis.Redis) -> None:
    async def run() -> tuple[RateDecision, RateDecision, RateDecision]:
        limiter = RedisRateLimiter(redis_url, limit=10, window_s=LONG_WINDOW_S, prefix=prefix)
        try:
            fill = await limiter.acquire({"anon:b": 10})
            refused = await limiter.acquire({"anon:a": 5, "anon:b": 1})
            return fill, refused, await limiter.acquire({"anon:a": 10})
        finally:
            await limiter.aclose()

    fill, refused, later = asyncio.run(run())
    assert fill.allowed
    assert not refused.allowed
    assert refused.limited_key == "anon:b"
    assert later == RateDecision(True, 0, None, 0)  # a kept its full limit
    assert charged(sync_redis, prefix + "anon:a") == 10
    assert charged(sync_redis, prefix + "anon:b") == 10


def test_allowed_multi_key_request_charges_every_key(redis_url: str, prefix: str) -> None:
    async def run() -> list[RateDecision]:
        limiter = RedisRateLimiter(redis_url, limit=10, window_s=LONG_WINDOW_S, prefix=prefix)
        try:
            return [
                await limiter.acquire({"a": 7}),
                await limiter.acquire({"a": 1, "b": 2}),
                await limiter.acquire({"a": 3}),
                await limiter.acquire({"b": 8}),
            ]
        finally:
            await limiter.aclose()

    decisions = asyncio.run(run())
    assert [d.allowed for d in decisions] == [True, True, False, True]
    assert decisions[1].remaining == 2


def test_cost_above_the_limit_is_refused_with_a_full_window_retry(
    redis_url: str, prefix: str
) -> None:
    async def run() -> tuple[RateDecision, RateDecision]:
        limiter = RedisRateLimiter(redis_url, limit=600, window_s=60, prefix=prefix)
        try:
            refused = await limiter.acquire({"anon:a": 3, "user:9": 601})
            return refused, await limiter.acquire({"anon:a": 600})
        finally:
            await limiter.aclose()

    refused, later = asyncio.run(run())
    assert refused == RateDecision(False, 60, "user:9", 600)
    assert later.allowed


def test_waiting_retry_after_restores_room(redis_url: str, prefix: str) -> None:
    async def run() -> tuple[RateDecision, RateDecision]:
        limiter = RedisRateLimiter(redis_url, limit=5, window_s=2, prefix=prefix)
        try:
            assert (await limiter.acquire({"ip:1.2.3.4": 5})).allowed
            refused = await limiter.acquire({"ip:1.2.3.4": 1})
            await asyncio.sleep(refused.retry_after_s)
            return refused, await limiter.acquire({"ip:1.2.3.4": 5})
        finally:
            await limiter.aclose()

    refused, later = asyncio.run(run())
    assert not refused.allowed
    assert 1 <= refused.retry_after_s <= 3
    assert later == RateDecision(True, 0, None, 0)


def test_a_burst_straddling_an_aligned_window_edge_is_not_let_through_twice(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    """The fixed window admitted `limit` just before an edge of the server clock and `limit`
    again just after it."""
    window_s = 2
    now = server_seconds(sync_redis)
    edge = (now // window_s + 1) * window_s
    if edge - now < 0.3:
        edge += window_s
    time.sleep(edge - now - 0.2)

    async def run() -> tuple[RateDecision, RateDecision]:
        limiter = RedisRateLimiter(redis_url, limit=5, window_s=window_s, prefix=prefix)
        try:
            before = await limiter.acquire({"user:1": 5})
            await asyncio.sleep(0.4)  # now past the edge
            return before, await limiter.acquire({"user:1": 5})
        finally:
            await limiter.aclose()

    before, after = asyncio.run(run())
    assert before.allowed
    assert not after.allowed


def test_counters_expire_a_window_after_the_last_charge(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    async def run() -> None:
        limiter = RedisRateLimiter(redis_url, limit=5, window_s=1, prefix=prefix)
        try:
            assert (await limiter.acquire({"anon:gone": 1})).allowed
        finally:
            await limiter.aclose()

    asyncio.run(run())
    ttl_ms = sync_redis.pttl(prefix + "anon:gone")
    assert 0 < ttl_ms <= 1_000 + 17  # one window and one slot (1/60 of it, rounded up)
    time.sleep(ttl_ms / 1000 + 0.1)
    assert sync_redis.exists(prefix + "anon:gone") == 0


def test_two_limiter_instances_share_one_limit_under_concurrent_load(
    redis_url: str, prefix: str, sync_redis: redis.Redis
) -> None:
    """Two instances with their own pools stand in for two API processes."""
    limit = 300

    async def run() -> list[tuple[dict[str, int], RateDecision]]:
        first = RedisRateLimiter(redis_url, limit=limit, window_s=LONG_WINDOW_S, prefix=prefix)
        second = RedisRateLimiter(redis_url, limit=limit, window_s=LONG_WINDOW_S, prefix=prefix)
        requests = [
            {"shared": 1 + i % 4, f"anon:{i % 3}": 1 + i % 5} if i % 2 else {"shared": 1, "solo": 1}
            for i in range(800)
        ]
        try:
            decisions = await asyncio.gather(
                *((first if i % 2 else second).acquire(costs) for i, costs in enumerate(requests))
            )
            return list(zip(requests, decisions, strict=True))
        finally:
            await first.aclose()
            await second.aclose()

    results = asyncio.run(run())
    admitted: dict[str, int] = {}
    for costs, decision in results:
        if decision.allowed:
            for key, cost in costs.items():
                admitted[key] = admitted.get(key, 0) + cost
    assert admitted["shared"] <= limit
    # Demand far exceeds the limit and cost-1 requests keep coming, so "shared" fills exactly.
    assert admitted["shared"] == limit
    assert any(not d.allowed for _, d in results)
    # Redis holds exactly what was admitted: refused requests charged nothing.
    for key, total in admitted.items():
        assert charged(sync_redis, prefix + key) == total


def test_redis_down_raises_rate_limiter_unavailable() -> None:
    # Needs no server, so it runs (and guards the 503 path) even where Redis is absent.
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def run() -> None:
        limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0")
        try:
            await limiter.acquire({"anon:a": 1})
        finally:
            await limiter.aclose()

    started = time.monotonic()
    with pytest.raises(RateLimiterUnavailable, match="unavailable"):
        asyncio.run(run())
    assert time.monotonic() - started < 5  # fails fast rather than hanging the request

"""Behaviour of the in-memory fixed-window rate limiter, with a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import math
import threading
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everreach.platform.rate_limit import (
    MemoryRateLimiter,
    RateDecision,
    RateLimiter,
    RedisRateLimiter,
    build_rate_limiter,
)


class FakeClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, now: float = 1_000_020.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def acquire(limiter: MemoryRateLimiter, costs: dict[str, int]) -> RateDecision:
    return asyncio.run(limiter.acquire(costs))


def test_exactly_limit_events_pass_then_next_is_refused_with_retry_after() -> None:
    # 20 s into a 60 s window that ends at 16_667 * 60 + 60.
    clock = FakeClock(16_667 * 60 + 20.0)
    limiter = MemoryRateLimiter(limit=10, window_s=60, clock=clock)
    for i in range(10):
        decision = acquire(limiter, {"user:1": 1})
        assert decision.allowed
        assert decision.remaining == 9 - i
        assert decision.retry_after_s == 0
        assert decision.limited_key is None
    clock.now += 0.5
    refused = acquire(limiter, {"user:1": 1})
    assert refused == RateDecision(False, 40, "user:1", 0)


def test_retry_after_rounds_up_and_is_at_least_one_second() -> None:
    clock = FakeClock(16_667 * 60 + 59.9)
    limiter = MemoryRateLimiter(limit=1, window_s=60, clock=clock)
    assert acquire(limiter, {"k": 1}).allowed
    assert acquire(limiter, {"k": 1}).retry_after_s == 1
    clock.now = 16_667 * 60 + 0.0  # first instant of the same window: the whole window remains
    limiter = MemoryRateLimiter(limit=1, window_s=60, clock=clock)
    assert acquire(limiter, {"k": 1}).allowed
    assert acquire(limiter, {"k": 1}).retry_after_s == 60


def test_counting_is_in_events_so_a_batch_of_100_costs_100() -> None:
    limiter = MemoryRateLimiter(limit=600, window_s=60, clock=FakeClock())
    for _ in range(6):
        assert acquire(limiter, {"anon:a": 100}).allowed
    refused = acquire(limiter, {"anon:a": 1})
    assert not refused.allowed
    assert refused.limited_key == "anon:a"


def test_a_batch_larger_than_the_room_left_is_refused_whole() -> None:
    limiter = MemoryRateLimiter(limit=600, window_s=60, clock=FakeClock())
    assert acquire(limiter, {"anon:a": 550}).allowed
    refused = acquire(limiter, {"anon:a": 100})
    assert not refused.allowed
    assert refused.remaining == 50
    # Nothing was charged, so the 50 events of room are still there.
    assert acquire(limiter, {"anon:a": 50}).allowed


def test_all_or_nothing_across_keys_one_key_over_means_no_key_is_charged() -> None:
    limiter = MemoryRateLimiter(limit=10, window_s=60, clock=FakeClock())
    assert acquire(limiter, {"anon:b": 10}).allowed  # b is full
    refused = acquire(limiter, {"anon:a": 5, "anon:b": 1})
    assert not refused.allowed
    assert refused.limited_key == "anon:b"
    # a was not charged by the refused batch: its full limit is still available.
    decision = acquire(limiter, {"anon:a": 10})
    assert decision.allowed
    assert decision.remaining == 0


def test_allowed_multi_key_request_charges_every_key_and_reports_the_tightest() -> None:
    limiter = MemoryRateLimiter(limit=10, window_s=60, clock=FakeClock())
    assert acquire(limiter, {"a": 7}).allowed
    decision = acquire(limiter, {"a": 1, "b": 2})
    assert decision.allowed
    assert decision.remaining == 2  # a: 10 - 8; b: 10 - 2
    assert not acquire(limiter, {"a": 3}).allowed
    assert acquire(limiter, {"b": 8}).allowed


def test_window_rollover_restores_room() -> None:
    clock = FakeClock(16_667 * 60 + 30.0)
    limiter = MemoryRateLimiter(limit=5, window_s=60, clock=clock)
    assert acquire(limiter, {"ip:1.2.3.4": 5}).allowed
    refused = acquire(limiter, {"ip:1.2.3.4": 1})
    assert not refused.allowed
    clock.now += refused.retry_after_s
    decision = acquire(limiter, {"ip:1.2.3.4": 5})
    assert decision.allowed
    assert decision.remaining == 0


def test_cost_above_the_limit_is_refused_with_a_full_window_retry() -> None:
    limiter = MemoryRateLimiter(limit=600, window_s=60, clock=FakeClock(16_667 * 60 + 50.0))
    refused = acquire(limiter, {"anon:a": 3, "user:9": 601})
    assert refused == RateDecision(False, 60, "user:9", 600)
    # The other key in the refused request was not charged.
    assert acquire(limiter, {"anon:a": 600}).allowed


def test_zero_costs_are_ignored_and_negative_costs_rejected() -> None:
    limiter = MemoryRateLimiter(limit=1, window_s=60, clock=FakeClock())
    assert acquire(limiter, {}) == RateDecision(True, 0, None, 1)
    assert acquire(limiter, {"a": 1}).allowed
    assert acquire(limiter, {"a": 0}).allowed  # a full key is not refused for zero events
    with pytest.raises(ValueError):
        acquire(limiter, {"a": -1})


def test_invalid_configuration_is_rejected() -> None:
    with pytest.raises(ValueError):
        MemoryRateLimiter(limit=0)
    with pytest.raises(ValueError):
        MemoryRateLimiter(window_s=0)


def test_old_windows_are_evicted_so_memory_does_not_grow_with_keys_over_time() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(limit=10, window_s=60, clock=clock)
    for i in range(1_000):
        assert acquire(limiter, {f"anon:{i}": 1}).allowed
    assert limiter.tracked_keys == 1_000
    clock.now += 60
    assert acquire(limiter, {"anon:new": 1}).allowed
    assert limiter.tracked_keys == 1


def test_concurrent_asyncio_acquires_never_over_admit() -> None:
    limiter = MemoryRateLimiter(limit=600, window_s=60, clock=FakeClock())

    async def run() -> list[RateDecision]:
        return await asyncio.gather(
            *(limiter.acquire({"shared": 7, f"own:{i}": 1}) for i in range(500))
        )

    decisions = asyncio.run(run())
    admitted = sum(7 for d in decisions if d.allowed)
    assert admitted == 7 * (600 // 7)  # fills as far as whole batches fit, never beyond
    assert all(d.limited_key == "shared" for d in decisions if not d.allowed)


def test_concurrent_acquires_from_several_threads_never_over_admit() -> None:
    limiter = MemoryRateLimiter(limit=1_000, window_s=60, clock=FakeClock())
    admitted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        async def burst() -> int:
            decisions = await asyncio.gather(*(limiter.acquire({"k": 3}) for _ in range(200)))
            return sum(3 for d in decisions if d.allowed)

        total = asyncio.run(burst())
        with lock:
            admitted.append(total)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 999


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=25, allow_nan=False),  # seconds since last call
            st.dictionaries(st.sampled_from("abc"), st.integers(0, 12), max_size=3),
        ),
        max_size=60,
    )
)
def test_admission_is_exact_per_key_and_window(
    steps: list[tuple[float, dict[str, int]]],
) -> None:
    """Never admits past the limit, and never refuses a request that every key had room for."""
    limit, window_s = 10, 20
    clock = FakeClock(0.0)
    limiter = MemoryRateLimiter(limit=limit, window_s=window_s, clock=clock)
    used: dict[tuple[str, int], int] = defaultdict(int)
    for delta, costs in steps:
        clock.now += delta
        window = math.floor(clock.now / window_s)
        decision = acquire(limiter, costs)
        fits = all(used[(k, window)] + c <= limit for k, c in costs.items())
        assert decision.allowed == fits
        if decision.allowed:
            for k, c in costs.items():
                used[(k, window)] += c
        else:
            assert decision.limited_key in costs
            assert 1 <= decision.retry_after_s <= window_s
    assert all(v <= limit for v in used.values())


def test_build_rate_limiter_picks_memory_without_url_and_redis_with_one() -> None:
    memory = build_rate_limiter(None, limit=5, window_s=10)
    assert isinstance(memory, MemoryRateLimiter)
    assert isinstance(memory, RateLimiter)
    assert (memory.limit, memory.window_s) == (5, 10)
    # Building the Redis limiter does not connect, so no server is needed here.
    remote = build_rate_limiter("redis://127.0.0.1:1/0", limit=5, window_s=10)
    assert isinstance(remote, RedisRateLimiter)
    assert isinstance(remote, RateLimiter)
    asyncio.run(remote.aclose())

"""Behaviour of the in-memory sliding-window rate limiter, with a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everreach.platform.rate_limit import (
    SLOTS,
    MemoryRateLimiter,
    RateDecision,
    RateLimiter,
    RedisRateLimiter,
    SlotClock,
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


def test_exactly_limit_events_pass_then_next_is_refused_until_the_slot_leaves() -> None:
    clock = FakeClock(1_000_040.0)  # 1 s slots of a 60 s window
    limiter = MemoryRateLimiter(limit=10, window_s=60, clock=clock)
    for i in range(10):
        decision = acquire(limiter, {"user:1": 1})
        assert decision.allowed
        assert decision.remaining == 9 - i
        assert decision.retry_after_s == 0
        assert decision.limited_key is None
    clock.now += 0.5
    refused = acquire(limiter, {"user:1": 1})
    # The slot [1_000_040, 1_000_041) stops counting at 1_000_101: 60.5 s later, rounded up.
    assert refused == RateDecision(False, 61, "user:1", 0)


def test_a_burst_straddling_an_aligned_window_edge_is_not_let_through_twice() -> None:
    """The fixed window admitted `limit` just before an edge and `limit` again just after."""
    edge = 16_667 * 60.0
    clock = FakeClock(edge - 0.5)
    limiter = MemoryRateLimiter(limit=600, window_s=60, clock=clock)
    assert acquire(limiter, {"user:1": 600}).allowed
    clock.now = edge + 0.5
    refused = acquire(limiter, {"user:1": 1})
    assert not refused.allowed
    assert refused.remaining == 0


def test_room_comes_back_slot_by_slot_as_old_events_leave_the_window() -> None:
    clock = FakeClock(1_000_000.0)
    limiter = MemoryRateLimiter(limit=600, window_s=60, clock=clock)
    assert acquire(limiter, {"k": 300}).allowed
    clock.now += 30
    assert acquire(limiter, {"k": 300}).allowed
    clock.now += 30.5  # 60.5 s after the first 300: their slot is still in the window
    assert not acquire(limiter, {"k": 1}).allowed
    clock.now += 0.5  # 61 s: the first slot has left, the second has not
    assert acquire(limiter, {"k": 300}).allowed
    assert not acquire(limiter, {"k": 1}).allowed


def test_retry_after_is_the_earliest_whole_second_at_which_the_request_fits() -> None:
    clock = FakeClock(1_000_000.25)
    limiter = MemoryRateLimiter(limit=10, window_s=60, clock=clock)
    assert acquire(limiter, {"k": 4}).allowed
    clock.now += 10
    assert acquire(limiter, {"k": 6}).allowed
    clock.now += 5
    refused = acquire(limiter, {"k": 5})  # needs both slots gone: the second leaves at +71 s
    assert refused.retry_after_s == 56  # from 1_000_015.25 to 1_000_071.0, rounded up
    clock.now += refused.retry_after_s - 1
    assert not acquire(limiter, {"k": 5}).allowed
    clock.now += 1
    assert acquire(limiter, {"k": 5}).allowed


def test_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock(1_000_000.0)
    limiter = MemoryRateLimiter(limit=1, window_s=60, clock=clock)
    assert acquire(limiter, {"k": 1}).allowed
    clock.now += 60.99
    assert acquire(limiter, {"k": 1}).retry_after_s == 1


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


def test_waiting_retry_after_restores_room() -> None:
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
    clock.now += 61  # every slot of those keys has left the window
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


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=25_000),  # milliseconds since the last call
            st.dictionaries(st.sampled_from("abc"), st.integers(0, 12), max_size=3),
        ),
        max_size=80,
    )
)
def test_no_span_of_the_window_ever_holds_more_than_the_limit(
    steps: list[tuple[int, dict[str, int]]],
) -> None:
    """Over any `window_s` span at most `limit` events per key; and a request is only refused
    when the events of the last window plus one slot leave it no room (conservative by one
    slot at most, never more)."""
    limit, window_s = 10, 20
    window_ms, slot_ms = window_s * 1000, window_s * 1000 // SLOTS
    clock = FakeClock(1_000_000.0)
    limiter = MemoryRateLimiter(limit=limit, window_s=window_s, clock=clock)
    log: list[tuple[int, str, int]] = []  # (ms, key, cost) of admitted charges
    now_ms = 1_000_000_000
    for delta_ms, costs in steps:
        now_ms += delta_ms
        clock.now = now_ms / 1000
        decision = acquire(limiter, costs)
        since = now_ms - window_ms - slot_ms
        recent = {key: sum(c for t, k, c in log if k == key and t > since) for key in "abc"}
        if all(recent[k] + c <= limit for k, c in costs.items()):
            assert decision.allowed
        if decision.allowed:
            log.extend((now_ms, k, c) for k, c in costs.items() if c)
        else:
            assert decision.limited_key in costs
            assert 1 <= decision.retry_after_s <= window_s + 1
    for end_ms, _, _ in log:
        for key in "abc":
            span = sum(c for t, k, c in log if k == key and end_ms - window_ms < t <= end_ms)
            assert span <= limit


def test_slot_arithmetic_of_the_default_window() -> None:
    clock = SlotClock.for_window(60)
    assert (clock.window_ms, clock.slot_ms) == (60_000, 1_000)
    assert clock.current(1_000_040_500) == 1_000_040
    assert clock.oldest(1_000_040_500) == 999_980  # the slot holding now - 60 s counts whole
    assert clock.released_at(999_980) == 1_000_041_000
    assert clock.retry_after_s({999_980: 3, 1_000_000: 4}, 5, 1_000_040_500) == 21
    # A window that SLOTS does not divide gets slots rounded up, never more than SLOTS + 1 live.
    assert SlotClock.for_window(7).slot_ms == 117


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

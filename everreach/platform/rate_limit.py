"""Per-key ingest rate limiting, counted in events rather than requests.

Why events: one SDK request may carry a single event or a batch of hundreds, so counting requests
would let a batching client send far more data than an interactive one. Each key (user id, else
anonymous id, else client IP, as chosen by the caller) gets ``limit`` events per ``window_s``.

Why all-or-nothing: one request can carry events for several keys (a batch with two anonymous ids).
The collector must store nothing from a rejected batch, so a rejected batch must not eat quota
either: :meth:`RateLimiter.acquire` either charges every key or charges none.

Algorithm: a **sliding window of slots**. The guarantee is the one users read in "600 events per
minute": over ANY ``window_s`` span, never more than ``limit`` events per key. Each key keeps one
counter per slot of ``window_s / SLOTS`` (1 s for a 60 s window). A request at ``now`` counts
every slot that overlaps ``(now - window_s, now]``, the oldest one whole, and is admitted only if
that sum plus its cost stays ``<= limit`` for every key. Counting the oldest slot whole can only
over-count, so the limit holds exactly over every span (overshoot 0); the price is that room comes
back up to one slot (1/60 of the window) later than a perfect sliding log would give it.

Why not the alternatives:

* a fixed window (what this module did before) holds per *aligned* window only: ``limit`` events
  at the end of one window and ``limit`` more at the start of the next put ``2 * limit`` through
  within a second;
* GCRA / a token bucket with a burst of ``limit`` holds ``burst + rate * span``: right after a
  full burst the bucket refills at ``limit / window_s``, so a 60 s span can also see up to
  ``2 * limit``. Making GCRA hold the limit over every span would need a burst near zero, which
  refuses every batch;
* a sliding *log* (one entry per request) is exact too but keeps up to ``limit`` entries per key;
  slots keep at most ``SLOTS + 1`` counters whatever the traffic;
* the two-window weighted estimate ("sliding window counter") assumes the previous window's events
  were spread evenly and lets up to 1.5x through when they were not.

Time is integer milliseconds, so the Python store and the Redis script compute identical slots.
On Redis the check and the charge are one Lua script, so several API processes share one limit
without races, and TIME is the Redis server's clock, so hosts with skewed clocks agree.

``Retry-After`` is the whole number of seconds (``ceil``, at least 1) until enough of the oldest
slots have left the window for the refused request to fit. A request whose cost for a single key
alone exceeds ``limit`` can never succeed; it is refused with ``retry_after_s = window_s`` (the
client should split its batch, not retry it).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import redis.asyncio as redis_asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

__all__ = [
    "MemoryRateLimiter",
    "RateDecision",
    "RateLimiter",
    "RateLimiterUnavailable",
    "RedisRateLimiter",
    "SlotClock",
    "build_rate_limiter",
]

DEFAULT_LIMIT = 600
DEFAULT_WINDOW_S = 60


class RateLimiterUnavailable(Exception):
    """The shared rate-limit store cannot be reached; the API answers 503 rather than guessing.

    Failing closed (refusing ingest) instead of open keeps a Redis outage from silently
    switching off abuse protection; clients retry later and nothing is stored half-way.
    """


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one :meth:`RateLimiter.acquire` call.

    ``remaining`` is the room left for the tightest key after this call when allowed; when refused
    it is the room the limited key still has (nothing was charged), which lets a client size a
    smaller batch.
    """

    allowed: bool
    retry_after_s: int
    limited_key: str | None
    remaining: int


@runtime_checkable
class RateLimiter(Protocol):
    """What the ingest route needs: atomically charge events to keys, and release resources."""

    async def acquire(self, costs: Mapping[str, int]) -> RateDecision:
        """Charge ``costs[key]`` events to every key, or to none of them, and say which."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once on application shutdown."""
        ...


def _validate_config(limit: int, window_s: int) -> None:
    if limit < 1:
        raise ValueError(f"rate limit must be >= 1 event, got {limit}")
    if window_s < 1:
        raise ValueError(f"rate-limit window must be >= 1 second, got {window_s}")


def _normalise_costs(costs: Mapping[str, int]) -> dict[str, int]:
    """Drop zero costs (they neither charge nor can be refused) and reject negative ones.

    A negative cost would refund quota, which no caller has a reason to do.
    """
    charged: dict[str, int] = {}
    for key, cost in costs.items():
        if cost < 0:
            raise ValueError(f"rate-limit cost must be >= 0, got {cost} for a key")
        if cost:
            charged[key] = int(cost)
    return charged


# Slots per window: 60 gives 1 s slots for the default 60 s window. More slots return room
# sooner after a refusal but cost more counters per key (and a longer loop in the Redis script).
SLOTS = 60


@dataclass(frozen=True)
class SlotClock:
    """The slot arithmetic both stores share, in integer milliseconds.

    ``slot_ms`` is ``window_ms / SLOTS`` rounded up. At ``now_ms`` the slots that overlap
    ``(now - window, now]`` are ``oldest(now_ms)`` up to ``current(now_ms)``; slot ``s`` stops
    counting at ``released_at(s)``.
    """

    window_ms: int
    slot_ms: int

    @classmethod
    def for_window(cls, window_s: int) -> SlotClock:
        window_ms = window_s * 1000
        return cls(window_ms, -(-window_ms // SLOTS))

    def current(self, now_ms: int) -> int:
        return now_ms // self.slot_ms

    def oldest(self, now_ms: int) -> int:
        return (now_ms - self.window_ms) // self.slot_ms

    def released_at(self, slot: int) -> int:
        """The first instant (ms) at which ``slot`` no longer overlaps the window."""
        return (slot + 1) * self.slot_ms + self.window_ms

    def retry_after_s(self, live: Mapping[int, int], need: int, now_ms: int) -> int:
        """Seconds until the oldest live slots have freed ``need`` events (at least 1)."""
        freed = 0
        for slot in sorted(live):
            freed += live[slot]
            if freed >= need:
                return max(1, -(-(self.released_at(slot) - now_ms) // 1000))
        return max(1, -(-self.window_ms // 1000))


class MemoryRateLimiter:
    """Sliding-window limiter held in this process; the default when no Redis URL is configured.

    Safe under asyncio concurrency because :meth:`acquire` never awaits between checking and
    charging; a ``threading.Lock`` also guards the state in case the limiter is shared by loops in
    several threads (e.g. a test client portal). Each key holds at most ``SLOTS + 1`` counters;
    once per window every key whose newest slot has left the window is dropped, so memory is
    bounded by the keys active in the last window, not by keys seen over time.

    ``clock`` returns epoch seconds and is injectable so tests can move time. If it jumps
    backwards, the slots "in the future" keep counting until they leave the window (a stricter
    limit for a while, never a looser one).
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        window_s: int = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _validate_config(limit, window_s)
        self.limit = limit
        self.window_s = window_s
        self._slots = SlotClock.for_window(window_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, dict[int, int]] = {}
        self._next_sweep_ms = 0

    @property
    def tracked_keys(self) -> int:
        """Number of keys with counters in memory (for metrics and eviction tests)."""
        return len(self._counts)

    def _live(self, key: str, oldest: int) -> dict[int, int]:
        """The key's counters that still overlap the window (older ones are dropped)."""
        slots = self._counts.get(key)
        if slots is None:
            return {}
        if any(slot < oldest for slot in slots):
            slots = {slot: n for slot, n in slots.items() if slot >= oldest}
            if slots:
                self._counts[key] = slots
            else:
                del self._counts[key]
        return slots

    def _sweep(self, now_ms: int, oldest: int) -> None:
        """Once per window, forget keys with no slot left in the window."""
        if now_ms < self._next_sweep_ms:
            return
        self._next_sweep_ms = now_ms + self._slots.window_ms
        self._counts = {key: slots for key, slots in self._counts.items() if max(slots) >= oldest}

    async def acquire(self, costs: Mapping[str, int]) -> RateDecision:
        """Charge all keys or none; see the module docstring for the window semantics."""
        charged = _normalise_costs(costs)
        now_ms = math.floor(self._clock() * 1000)
        slots = self._slots
        oldest = slots.oldest(now_ms)
        current = slots.current(now_ms)
        with self._lock:
            self._sweep(now_ms, oldest)
            used: dict[str, int] = {}
            for key, cost in charged.items():
                live = self._live(key, oldest)
                total = sum(live.values())
                if cost > self.limit:
                    return RateDecision(False, self.window_s, key, self.limit - total)
                if total + cost > self.limit:
                    retry = slots.retry_after_s(live, total + cost - self.limit, now_ms)
                    return RateDecision(False, retry, key, self.limit - total)
                used[key] = total + cost
            for key, cost in charged.items():
                counters = self._counts.setdefault(key, {})
                counters[current] = counters.get(current, 0) + cost
        remaining = min((self.limit - n for n in used.values()), default=self.limit)
        return RateDecision(True, 0, None, remaining)

    async def aclose(self) -> None:
        """Nothing to release; present to satisfy :class:`RateLimiter`."""


# One hash per key: field = slot number, value = events charged in that slot; the key expires
# one window and one slot after its last charge, when every slot in it is out of the window.
# The script reads every key's live slots before writing any, which is what makes a multi-key
# request all-or-nothing; Redis runs scripts atomically, so concurrent API processes cannot
# interleave between the check and the charge. Fields that are not slot numbers (a hash left by
# the fixed-window version of this script) are deleted like expired slots.
# ARGV: limit, window_ms, slot_ms, then one cost per key.
# Returns {allowed (0/1), index of the limited key (1-based, 0 if none), retry_after, remaining}.
_ACQUIRE_LUA = """
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local slot_ms = tonumber(ARGV[3])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local current = math.floor(now_ms / slot_ms)
local oldest = math.floor((now_ms - window_ms) / slot_ms)
local used = {}
for i = 1, #KEYS do
  local cost = tonumber(ARGV[i + 3])
  local flat = redis.call('HGETALL', KEYS[i])
  local total = 0
  local live = {}
  local stale = {}
  for j = 1, #flat, 2 do
    local slot = tonumber(flat[j])
    if slot ~= nil and slot >= oldest then
      local n = tonumber(flat[j + 1])
      total = total + n
      live[#live + 1] = {slot, n}
    else
      stale[#stale + 1] = flat[j]
    end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[i], unpack(stale)) end
  if cost > limit then return {0, i, math.ceil(window_ms / 1000), limit - total} end
  if total + cost > limit then
    table.sort(live, function(a, b) return a[1] < b[1] end)
    local need = total + cost - limit
    local freed = 0
    local retry = math.ceil(window_ms / 1000)
    for _, entry in ipairs(live) do
      freed = freed + entry[2]
      if freed >= need then
        retry = math.ceil(((entry[1] + 1) * slot_ms + window_ms - now_ms) / 1000)
        break
      end
    end
    return {0, i, math.max(1, retry), limit - total}
  end
  used[i] = total + cost
end
local remaining = limit
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], current, tonumber(ARGV[i + 3]))
  redis.call('PEXPIRE', KEYS[i], window_ms + slot_ms)
  if limit - used[i] < remaining then remaining = limit - used[i] end
end
return {1, 0, 0, remaining}
"""


class RedisRateLimiter:
    """Sliding-window limiter in Redis, for several API processes sharing one limit.

    Each key's slot counters live in one hash at ``prefix + key`` that expires a window after its
    last charge, so Redis memory follows the keys active in the last window. On Redis Cluster, put
    a hash tag in the prefix (e.g. ``"everreach:rl:{ingest}:"``) so the keys of one request share
    a cluster slot. The script computes the same slots as :class:`SlotClock`, from Redis's clock.

    Connection retries are disabled on purpose: if the connection dies after the script ran but
    before its reply arrived, a retry would charge the batch twice. Errors surface at once as
    :class:`RateLimiterUnavailable` (HTTP 503) and the SDK retries the whole request.
    """

    def __init__(
        self,
        url: str,
        limit: int = DEFAULT_LIMIT,
        window_s: int = DEFAULT_WINDOW_S,
        prefix: str = "everreach:rl:",
        *,
        socket_timeout_s: float = 2.0,
        max_connections: int = 50,
    ) -> None:
        _validate_config(limit, window_s)
        self.limit = limit
        self.window_s = window_s
        self._slots = SlotClock.for_window(window_s)
        self.prefix = prefix
        # The client connects lazily, so building the limiter at startup never blocks or fails;
        # the timeouts keep a hung Redis from stalling ingest requests. A *blocking* pool makes a
        # burst of concurrent requests queue briefly for a connection instead of failing: the
        # default pool raises "Too many connections" past its cap, which would turn load into 503s.
        pool = redis_asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=socket_timeout_s,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        self._redis = redis_asyncio.Redis.from_pool(pool)
        self._script = self._redis.register_script(_ACQUIRE_LUA)

    async def acquire(self, costs: Mapping[str, int]) -> RateDecision:
        """Charge all keys or none in one atomic script; raises RateLimiterUnavailable."""
        charged = _normalise_costs(costs)
        if not charged:
            return RateDecision(True, 0, None, self.limit)
        keys = list(charged)
        try:
            result = await self._script(
                keys=[self.prefix + key for key in keys],
                args=[
                    self.limit,
                    self._slots.window_ms,
                    self._slots.slot_ms,
                    *charged.values(),
                ],
            )
        except (RedisError, OSError) as exc:
            raise RateLimiterUnavailable(
                f"rate-limit store unavailable ({type(exc).__name__}: {exc})"
            ) from exc
        allowed, index, retry_after, remaining = (int(v) for v in result)
        if allowed:
            return RateDecision(True, 0, None, remaining)
        return RateDecision(False, max(1, retry_after), keys[index - 1], remaining)

    async def aclose(self) -> None:
        """Close the connection pool; call on application shutdown."""
        await self._redis.aclose()


def build_rate_limiter(
    redis_url: str | None,
    limit: int = DEFAULT_LIMIT,
    window_s: int = DEFAULT_WINDOW_S,
) -> RateLimiter:
    """Pick the store from settings: Redis when ``EVERREACH_REDIS_URL`` is set, else memory.

    The memory store is only correct for a single API process; with several processes each would
    admit ``limit`` events, which is why production with replicas sets a Redis URL.
    """
    if redis_url:
        return RedisRateLimiter(redis_url, limit=limit, window_s=window_s)
    return MemoryRateLimiter(limit=limit, window_s=window_s)

"""Per-key ingest rate limiting, counted in events rather than requests.

Why events: one SDK request may carry a single event or a batch of hundreds, so counting requests
would let a batching client send far more data than an interactive one. Each key (user id, else
anonymous id, else client IP, as chosen by the caller) gets ``limit`` events per ``window_s``.

Why all-or-nothing: one request can carry events for several keys (a batch with two anonymous ids).
The collector must store nothing from a rejected batch, so a rejected batch must not eat quota
either: :meth:`RateLimiter.acquire` either charges every key or charges none.

Algorithm: a **fixed-window counter**. Time is cut into windows ``floor(now / window_s)`` aligned
to the epoch; each key has one counter per window, and a request is admitted only if every key's
counter plus its cost stays ``<= limit``. Chosen over a sliding window because

* it is exact: the events admitted for a key within any one window never exceed ``limit``;
* on Redis it is one short atomic Lua script (read every counter, then charge every counter), so
  several API processes share one limit without races and without a second round trip;
* state is one integer per active key, and all keys of a window expire together.

Known trade-off: the limit holds per *aligned* window, not per *any* 60 s span. A client can send
``limit`` events at the very end of one window and ``limit`` more at the start of the next, i.e.
up to ``2 * limit`` within a short span around a window edge. For abuse protection on ingest that
burst is acceptable; a sliding log would remove it at the cost of one entry per event.

``Retry-After`` is the whole number of seconds until the current window rolls over (``ceil``,
at least 1). A request whose cost for a single key alone exceeds ``limit`` can never succeed; it
is refused with ``retry_after_s = window_s`` (the client should split its batch, not retry it).
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


class MemoryRateLimiter:
    """Fixed-window limiter held in this process; the default when no Redis URL is configured.

    Safe under asyncio concurrency because :meth:`acquire` never awaits between checking and
    charging; a ``threading.Lock`` also guards the state in case the limiter is shared by loops in
    several threads (e.g. a test client portal). Every key shares the same window boundaries, so
    when the window advances all stored counters are stale at once and are dropped together: memory
    is bounded by the number of keys active in the current window, not by keys seen over time.

    ``clock`` returns epoch seconds and is injectable so tests can move time. If it jumps backwards
    into an earlier window, counters restart for that window (a brief over-admission at worst).
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
        self._clock = clock
        self._lock = threading.Lock()
        self._window: int | None = None
        self._counts: dict[str, int] = {}

    @property
    def tracked_keys(self) -> int:
        """Number of keys with a counter in memory (for metrics and eviction tests)."""
        return len(self._counts)

    async def acquire(self, costs: Mapping[str, int]) -> RateDecision:
        """Charge all keys or none; see the module docstring for the window semantics."""
        charged = _normalise_costs(costs)
        now = self._clock()
        window = math.floor(now / self.window_s)
        retry_after = max(1, math.ceil((window + 1) * self.window_s - now))
        with self._lock:
            if window != self._window:
                # Every stored counter belongs to the previous window: evict them all at once.
                self._window = window
                self._counts = {}
            counts = self._counts
            for key, cost in charged.items():
                used = counts.get(key, 0)
                if cost > self.limit:
                    return RateDecision(False, self.window_s, key, self.limit - used)
                if used + cost > self.limit:
                    return RateDecision(False, retry_after, key, self.limit - used)
            remaining = self.limit
            for key, cost in charged.items():
                used = counts.get(key, 0) + cost
                counts[key] = used
                remaining = min(remaining, self.limit - used)
        return RateDecision(True, 0, None, remaining)

    async def aclose(self) -> None:
        """Nothing to release; present to satisfy :class:`RateLimiter`."""


# One hash per key: {w: window number, c: events charged in that window}. Keeping the window
# number in the value (rather than in the key name) means every key the script touches is passed
# in KEYS, as Redis requires for correct routing. The script reads every counter before writing
# any, which is what makes a multi-key request all-or-nothing; Redis runs scripts atomically, so
# concurrent API processes cannot interleave between the check and the charge. TIME is the Redis
# server's clock, so hosts with skewed clocks still agree on window boundaries.
# Returns {allowed (0/1), index of the limited key (1-based, 0 if none), retry_after, remaining}.
_ACQUIRE_LUA = """
local limit = tonumber(ARGV[1])
local window_s = tonumber(ARGV[2])
local sec = tonumber(redis.call('TIME')[1])
local window = math.floor(sec / window_s)
local window_end = (window + 1) * window_s
local counts = {}
for i = 1, #KEYS do
  local cost = tonumber(ARGV[i + 2])
  local stored = redis.call('HMGET', KEYS[i], 'w', 'c')
  local used = 0
  if tonumber(stored[1]) == window then used = tonumber(stored[2]) or 0 end
  if cost > limit then return {0, i, window_s, limit - used} end
  if used + cost > limit then return {0, i, window_end - sec, limit - used} end
  counts[i] = used + cost
end
local remaining = limit
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'w', window, 'c', counts[i])
  redis.call('EXPIREAT', KEYS[i], window_end)
  if limit - counts[i] < remaining then remaining = limit - counts[i] end
end
return {1, 0, 0, remaining}
"""


class RedisRateLimiter:
    """Fixed-window limiter in Redis, for several API processes sharing one limit.

    Each key's counter lives at ``prefix + key`` and expires when its window ends, so Redis memory
    follows the keys active in the current window. On Redis Cluster, put a hash tag in the prefix
    (e.g. ``"everreach:rl:{ingest}:"``) so the keys of one request share a slot.

    Retry-After is computed in the script from the server clock: ``window_end - TIME.seconds``,
    which equals ``ceil(window_end - now)`` because window edges fall on whole seconds.

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
                args=[self.limit, self.window_s, *charged.values()],
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

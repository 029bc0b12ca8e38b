"""When to try a failed delivery again, and when to stop trying.

Exponential backoff with "equal jitter": the n-th retry waits a random time between half and all
of `min * 2**n` (capped at `max`), never less than `min`. With the defaults (10 s, 5 min) the
waits are 10-20 s, 20-40 s, 40-80 s ... up to 150-300 s, and batches that failed together spread
out instead of hitting a recovering destination in lockstep. A server's Retry-After is a floor.
Retries stop when the next try would start after the window (measured from when the row entered
the queue), and the row goes to the dead letter.

Every duration is a parameter so tests can run the same policy in milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    min_delay_s: float = 10.0
    max_delay_s: float = 300.0
    window_s: float = 4 * 3600.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delays_s(self, attempts: Sequence[int], retry_after_s: float | None = None) -> list[float]:
        """Seconds to wait after a failed try, for rows tried `attempts` times each (>= 1).

        One random draw per call: the rows of a batch that failed together stay together (same
        attempts, same delay) and are retried as one batch, while separate batches spread out.
        """
        spread = self.rng.random()
        delays = []
        for tries in attempts:
            ceiling = min(self.max_delay_s, self.min_delay_s * 2.0 ** max(tries, 1))
            delay = max(self.min_delay_s, ceiling * (0.5 + 0.5 * spread))
            delays.append(delay if retry_after_s is None else max(delay, retry_after_s))
        return delays

    def gives_up(self, queued_for_s: float, delay_s: float) -> bool:
        """True when a retry `delay_s` from now would fall outside the window."""
        return queued_for_s + delay_s > self.window_s

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
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    min_delay_s: float = 10.0
    max_delay_s: float = 300.0
    window_s: float = 4 * 3600.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay_s(self, attempts: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed try (attempts >= 1)."""
        ceiling = min(self.max_delay_s, self.min_delay_s * 2.0 ** max(attempts, 1))
        delay = max(self.min_delay_s, self.rng.uniform(ceiling / 2, ceiling))
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return delay

    def gives_up(self, queued_for_s: float, delay_s: float) -> bool:
        """True when a retry `delay_s` from now would fall outside the window."""
        return queued_for_s + delay_s > self.window_s

"""Argon2 hashing runs in at most `concurrency` threads at once, however many callers wait."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest

from everreach.accounts.passwords import PasswordHasher


class Overlap:
    """Wraps the real Argon2 function and records how many calls ran at the same time."""

    def __init__(self, work) -> None:
        self._work = work
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0

    def __call__(self, *args: str) -> str:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.01)  # widen the window in which an overlap would show
            return self._work(*args)
        finally:
            with self._lock:
                self.running -= 1


@pytest.mark.parametrize("concurrency", [1, 2])
def test_hashing_never_runs_more_than_its_slots_at_once(concurrency):
    hasher = PasswordHasher(concurrency)
    real = hasher._argon2
    overlap = Overlap(real.hash)
    hasher._argon2 = SimpleNamespace(hash=overlap, verify=real.verify)  # type: ignore[assignment]

    async def many() -> list[str]:
        return await asyncio.gather(*(hasher.hash(f"password {i}") for i in range(6)))

    hashes = asyncio.run(many())
    assert len(set(hashes)) == 6 and all(h.startswith("$argon2id$") for h in hashes)
    assert overlap.most == concurrency

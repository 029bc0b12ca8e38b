"""Sending synthetic traffic through the real HTTP collector, as the app would.

Used by `everreach demo` (and the end-to-end tests): each request carries the bearer token of its
user when it is authenticated, honours 429 Retry-After like a well-behaved client, and the
per-event results are tallied so the demo can print what the collector did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import msgspec

from everreach.accounts import TokenCodec
from everreach_cli.synthetic_traffic import SyntheticRequest

MAX_RETRIES = 5


@dataclass
class ReplayStats:
    """What the collector answered, summed over the replay."""

    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rate_limited_retries: int = 0
    failed_requests: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return self.accepted + self.duplicates + self.quarantined


async def _send(
    client: httpx.AsyncClient,
    request: SyntheticRequest,
    tokens: TokenCodec,
    stats: ReplayStats,
) -> None:
    headers = {"content-type": "application/json"}
    if request.user_id:
        headers["authorization"] = f"Bearer {tokens.issue(request.user_id, account=False)}"
    # The generator stamps `sent_at` when the phone would have sent each request, days ago. We
    # send it now, as a phone with a correct clock flushing its backlog does: stamping the real
    # send time keeps the clock-skew correction from moving the whole history to today.
    sent_now = datetime.now(UTC).isoformat()
    body = msgspec.json.encode({"batch": [{**e, "sent_at": sent_now} for e in request.events]})
    for _ in range(MAX_RETRIES):
        response = await client.post("/v1/ingest", content=body, headers=headers)
        if response.status_code == 429:
            stats.rate_limited_retries += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            continue
        if response.status_code != 200:
            stats.failed_requests.append(f"{response.status_code}: {response.text[:200]}")
            return
        result = response.json()
        stats.requests += 1
        stats.accepted += result["accepted"]
        stats.duplicates += result["duplicates"]
        stats.quarantined += result["quarantined"]
        return
    stats.failed_requests.append("gave up after repeated 429s")


async def replay(
    base_url: str,
    requests: list[SyntheticRequest],
    tokens: TokenCodec,
    *,
    concurrency: int = 8,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayStats:
    """POST every request to `base_url`'s collector with bounded concurrency."""
    stats = ReplayStats()
    queue: asyncio.Queue[SyntheticRequest] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            request = queue.get_nowait()
            await _send(client, request, tokens, stats)
            if on_progress:
                on_progress(1)

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return stats

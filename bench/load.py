"""Load generator, run as its own process so it does not share the API's interpreter.

Two modes, both printing one JSON line of results:
- `throughput URL BODIES_FILE CONCURRENCY`: POST every pre-encoded body as fast as the server
  answers, with CONCURRENCY requests in flight.
- `latency URL RATE SECONDS`: single-event requests at a fixed arrival rate (open loop: a slow
  answer does not slow the schedule), recording each latency.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec

HEADERS = {"content-type": "application/json"}


async def throughput(url: str, bodies: list[bytes], concurrency: int) -> dict[str, float]:
    queue = list(reversed(bodies))
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            body = queue.pop()
            response = await client.post("/v1/ingest", content=body, headers=HEADERS)
            if response.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "requests": len(bodies), "errors": errors}


def single_event() -> bytes:
    return msgspec.json.encode(
        {
            "name": "message_sent",
            "props": {"contact_id": "c-1", "channel": "sms", "length": 120},
            "event_id": str(uuid.uuid4()),
            "anonymous_id": str(uuid.uuid4()),
            "timestamp": datetime.now(UTC).isoformat(),
        }
    )


async def latency(url: str, rate: float, seconds: float) -> dict[str, object]:
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)

    async def one(client: httpx.AsyncClient, body: bytes) -> None:
        nonlocal errors
        started = time.perf_counter()
        try:
            response = await client.post("/v1/ingest", content=body, headers=HEADERS)
            if response.status_code != 200:
                errors += 1
        except httpx.HTTPError:
            errors += 1
        latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        tasks = []
        for index in range(total):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, single_event())))
        await asyncio.gather(*tasks)
        achieved = total / (time.perf_counter() - start)
    return {"latencies": latencies, "errors": errors, "achieved_rate": achieved}


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "throughput":
        bodies = msgspec.json.decode(Path(sys.argv[3]).read_bytes(), type=list[str])
        result = asyncio.run(throughput(url, [b.encode() for b in bodies], int(sys.argv[4])))
    else:
        result = asyncio.run(latency(url, float(sys.argv[3]), float(sys.argv[4])))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

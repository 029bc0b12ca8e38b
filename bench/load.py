"""Load generator, run as its own process so it does not share the API's interpreter.

Two modes, both printing one JSON line of results:
- `throughput URL BODIES_FILE CONCURRENCY`: POST every pre-encoded body as fast as the server
  answers, with CONCURRENCY requests in flight.
- `latency URL RATE SECONDS`: single-event requests at a fixed arrival rate (open loop: a slow
  answer does not slow the schedule), recording each latency and how late the client itself
  sent each request (its own share of the latency, on a box it shares with the server).
- `wakeups SECONDS`: no requests; a loop that sleeps 1 ms and records how late each wake-up
  comes. Run beside a latency run, it measures the pauses the box itself imposes on any process
  (CPU contention, the hypervisor descheduling the VM): a floor under every latency measured.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import msgspec
import uvloop

HEADERS = {"content-type": "application/json"}
T = TypeVar("T")


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


class RawConnection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for a POST and its answer.

    httpx costs a few hundred microseconds per request in Python, which at 500 requests/s would
    measure the client, not the server; this costs a few tens.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        return cls(*await asyncio.open_connection(host, port))

    async def post(self, host: str, path: str, body: bytes) -> int:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status


async def open_loop(
    rate: float, items: Sequence[T], one: Callable[[float, T], Awaitable[None]]
) -> float:
    """Start `one(due, item)` for item i at its due time, start + i/rate, whether or not the
    earlier ones have finished (open loop), and wait for all; returns start."""
    in_flight: set[asyncio.Task[None]] = set()  # finished ones are let go, not kept
    start = time.perf_counter() + 0.1
    for index, item in enumerate(items):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due, item))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    while in_flight:
        await asyncio.gather(*in_flight)
    return start


async def latency(url: str, rate: float, seconds: float) -> dict[str, object]:
    """Open loop: request i is due at start + i/rate; latency counts from when it was due, so a
    backed-up server is charged for the wait (no coordinated omission)."""
    host_port = url.split("://", 1)[1]
    host, port = host_port.split(":")
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    idle: list[RawConnection] = []

    async def send(body: bytes) -> int:
        # A kept-alive connection the server has since closed fails before any answer: that is
        # the client's stale socket, not a server error, so it is retried once on a fresh one.
        if idle:
            connection = idle.pop()
            try:
                status = await connection.post(host_port, "/v1/ingest", body)
                idle.append(connection)
                return status
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
        connection = await RawConnection.open(host, int(port))
        status = await connection.post(host_port, "/v1/ingest", body)
        idle.append(connection)
        return status

    async def one(due: float, body: bytes) -> None:
        nonlocal errors
        send_lags.append(time.perf_counter() - due)
        try:
            if await send(body) != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        latencies.append(time.perf_counter() - due)

    bodies = [single_event() for _ in range(total)]
    send_lags: list[float] = []  # how late this client itself sent each request
    # The client's own garbage collection paused it 12-16 ms (gc callbacks), and every request
    # due meanwhile was charged to the server; its garbage is small and it exits after the run.
    gc.disable()
    start = await open_loop(rate, bodies, one)
    achieved = total / (time.perf_counter() - start)
    gc.enable()
    return {
        "latencies": latencies,
        "send_lags": send_lags,
        "errors": errors,
        "achieved_rate": achieved,
    }


def wakeups(seconds: float) -> dict[str, object]:
    """How late 1 ms sleeps wake up over `seconds` (seconds each, in order)."""
    lateness: list[float] = []
    end = time.perf_counter() + seconds
    while (due := time.perf_counter() + 0.001) < end:
        time.sleep(0.001)
        lateness.append(time.perf_counter() - due)
    return {"lateness": lateness}


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "throughput":
        bodies = msgspec.json.decode(Path(args[1]).read_bytes(), type=list[str])
        result = asyncio.run(throughput(args[0], [b.encode() for b in bodies], int(args[2])))
    elif mode == "latency":
        # uvloop, as the API runs on: the client's own loop costs less CPU on the shared box.
        result = uvloop.run(latency(args[0], float(args[1]), float(args[2])))
    else:
        result = wakeups(float(args[0]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

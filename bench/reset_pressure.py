"""Collector latency while password work is attacked (`make bench-reset-pressure`).

An attacker who can make the API hash passwords can take the cores that ingest needs: before the
fix, eight clients posting unknown reset tokens each cost an Argon2 hash. One API process, the
same database, single-event `POST /v1/ingest` at a fixed rate (open loop, `bench.load latency`),
measured four ways in one run:

- baseline: ingest alone
- reset tokens: + 8 clients posting unknown tokens to /v1/auth/perform-reset as fast as answered
  (the per-IP reset limit raised out of the way, so every attempt reaches the token lookup)
- wrong passwords: + 8 clients logging in with wrong passwords, throttling raised out of the way,
  so every attempt is an Argon2 verification, through the hasher's slots (default: 1)
- wrong passwords, 8 slots: the same with EVERREACH_PASSWORD_HASH_CONCURRENCY=8, i.e. hashing
  as unbounded as before the fix
- baseline again, last: ingest alone once more

Prints p50/p99 of ingest, the attack's request rate, and the API's peak RSS, with ratios against
the baseline. Run it alone: `flock /tmp/bench.lock make bench-reset-pressure`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil

from api.server import api_subprocess, free_port
from bench.environment import REPO, bench_database, machine_description
from bench.load import HEADERS, single_event

SECRET = "bench-only-signing-key-" + "0" * 32
PASSWORD = "bench password 1"
ATTACKERS = 8
OUT_OF_THE_WAY = "100000000"
ATTACK_MARGIN_S = 5
WARM_UP_REQUESTS = 300


async def attack(url: str, kind: str, seconds: float) -> int:
    """`ATTACKERS` clients sending `kind` requests back to back; how many were answered."""
    deadline = time.monotonic() + seconds
    answered = 0
    email = f"victim-{uuid.uuid4().hex[:8]}@example.com"

    async def one_client(client: httpx.AsyncClient) -> None:
        nonlocal answered
        while time.monotonic() < deadline:
            if kind == "reset":
                body = {"token": uuid.uuid4().hex * 2, "password": "a new password 1"}
                await client.post("/v1/auth/perform-reset", json=body)
            else:
                body = {"email": email, "password": f"wrong {uuid.uuid4().hex}"}
                await client.post("/v1/auth/login", json=body)
            answered += 1

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(one_client(client) for _ in range(ATTACKERS)))
    return answered


def measure(
    database_url: str, home: Path, kind: str | None, slots: int, rate: float, seconds: float
) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "EVERREACH_DATABASE_URL": database_url,
        "EVERREACH_HOME": str(home),
        "EVERREACH_JWT_SECRET": SECRET,
        "EVERREACH_RATE_LIMIT_EVENTS": OUT_OF_THE_WAY,
        "EVERREACH_RESET_LIMIT_PER_IP": OUT_OF_THE_WAY,
        "EVERREACH_LOGIN_LIMIT_PER_PAIR": OUT_OF_THE_WAY,
        "EVERREACH_LOGIN_LIMIT_PER_IP": OUT_OF_THE_WAY,
        "EVERREACH_LOGIN_LIMIT_PER_ACCOUNT": OUT_OF_THE_WAY,
        "EVERREACH_PASSWORD_HASH_CONCURRENCY": str(slots),
        "EVERREACH_FORWARDER_IN_PROCESS": "false",
        "EVERREACH_LOG_LEVEL": "WARNING",
    }
    args = ["-m", "everreach_cli", "serve", "--port", str(port)]
    with api_subprocess(args, env, port, cwd=REPO) as process:
        with httpx.Client(base_url=url, timeout=30) as client:  # warm-up: pool, caches
            for _ in range(WARM_UP_REQUESTS):
                client.post("/v1/ingest", content=single_event(), headers=HEADERS)
        server = psutil.Process(process.pid)
        peak_rss = server.memory_info().rss
        attacked = {"answered": 0}

        def run_attack() -> None:
            # Longer than the load, whose interpreter takes a second or two to start.
            attacked["answered"] = asyncio.run(attack(url, kind or "", seconds + ATTACK_MARGIN_S))

        attacker = threading.Thread(target=run_attack) if kind else None
        if attacker:
            attacker.start()
            time.sleep(1)  # the attack is under way before the measurement starts
        # The latencies come back as one long line: a file, not a pipe, so the load process
        # never blocks on a full pipe while this one samples the server's memory.
        with tempfile.TemporaryFile() as output:
            load = subprocess.Popen(
                [sys.executable, "-m", "bench.load", "latency", url, str(rate), str(seconds)],
                cwd=REPO,
                stdout=output,
            )
            while load.poll() is None:
                peak_rss = max(peak_rss, server.memory_info().rss)
                time.sleep(0.1)
            output.seek(0)
            result = json.loads(output.read())
        if attacker:
            attacker.join()
    cuts = statistics.quantiles(result["latencies"], n=100)
    return {
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "errors": result["errors"],
        "attack_rps": attacked["answered"] / (seconds + ATTACK_MARGIN_S) if kind else 0.0,
        "peak_rss_mb": peak_rss / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200, help="ingest requests per second")
    parser.add_argument("--seconds", type=float, default=20)
    options = parser.parse_args()
    print(f"machine: {machine_description()}")
    runs = [
        ("baseline (ingest alone)", None, 1),
        ("+ unknown reset tokens", "reset", 1),
        ("+ wrong passwords, 1 slot", "login", 1),
        ("+ wrong passwords, 8 slots", "login", ATTACKERS),
        ("baseline again", None, 1),  # a stall of the shared box shows as a baseline that moves
    ]
    with tempfile.TemporaryDirectory() as tmp, bench_database(Path(tmp)) as database:
        print(
            f"database: {database.server}; ingest at {options.rate:.0f} req/s for "
            f"{options.seconds:.0f} s per run; {ATTACKERS} attacking clients"
        )
        results = {}
        for label, kind, slots in runs:
            print(f"  {label} ...", flush=True)
            results[label] = measure(
                database.url, Path(tmp), kind, slots, options.rate, options.seconds
            )
    base = results[runs[0][0]]
    print(
        f"\n{'run':<28}{'p50 ms':>8}{'p99 ms':>8}{'p99 vs base':>12}{'attack req/s':>14}"
        f"{'peak RSS MB':>13}{'errors':>8}"
    )
    for label, figures in results.items():
        print(
            f"{label:<28}{figures['p50_ms']:>8.1f}{figures['p99_ms']:>8.1f}"
            f"{figures['p99_ms'] / base['p99_ms']:>12.2f}{figures['attack_rps']:>14.0f}"
            f"{figures['peak_rss_mb']:>13.0f}{figures['errors']:>8}"
        )


if __name__ == "__main__":
    main()

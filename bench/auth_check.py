"""Token-check benchmark (`make bench-auth`): what revocation checking costs the collector.

Every authenticated request asks whether its token was issued before the account's last password
change (`everreach.accounts.revocation`). Three runs against the same API build, same database, one
process each, single-event `POST /v1/ingest` requests sent one after another:

- baseline: a machine token (`"acct": false`: no account, nothing to look up)
- cached: a real account's token, lookups cached (the default, 5 s)
- uncached: a real account's token, `EVERREACH_CREDENTIALS_CACHE_S=0` (a query per request)

Prints requests/s and latency percentiles for each and the ratios against the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from api.server import api_subprocess, free_port
from bench.environment import REPO, bench_database, machine_description
from everreach.accounts.tokens import TokenCodec

SECRET = "bench-only-signing-key-" + "0" * 32
PASSWORD = "bench password 1"


def event() -> dict:
    return {
        "name": "message_sent",
        "props": {"contact_id": "c1", "channel": "sms"},
        "event_id": str(uuid.uuid4()),
    }


def account_token(client: httpx.Client) -> str:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    client.post("/v1/auth/signup", json={"email": email, "password": PASSWORD}).raise_for_status()
    response = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access_token"]


def measure(database_url: str, home: Path, cache_s: float, real_account: bool, n: int) -> dict:
    port = free_port()
    env = {
        "EVERREACH_DATABASE_URL": database_url,
        "EVERREACH_HOME": str(home),
        "EVERREACH_JWT_SECRET": SECRET,
        "EVERREACH_CREDENTIALS_CACHE_S": str(cache_s),
        "EVERREACH_RATE_LIMIT_EVENTS": "100000000",
        "EVERREACH_LOG_LEVEL": "WARNING",
    }
    args = ["-m", "everreach_cli", "serve", "--port", str(port)]
    with (
        api_subprocess(args, env, port, cwd=REPO),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        token = (
            account_token(client)
            if real_account
            else TokenCodec(SECRET).issue("bench-anon", account=False)
        )
        headers = {"authorization": f"Bearer {token}"}
        for _ in range(50):  # warm-up: pool connections, caches
            client.post("/v1/ingest", json=event(), headers=headers).raise_for_status()
        latencies = []
        started = time.perf_counter()
        for i in range(n):
            sent = time.perf_counter()
            client.post("/v1/ingest", json=event(), headers=headers).raise_for_status()
            latencies.append(time.perf_counter() - sent)
            if (i + 1) % max(1, n // 4) == 0:
                print(f"    {i + 1}/{n} requests", flush=True)
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": n / elapsed, "p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500)
    options = parser.parse_args()
    print(f"machine: {machine_description()}")
    with tempfile.TemporaryDirectory() as tmp, bench_database(Path(tmp)) as database:
        print(f"database: {database.server}; {options.requests} sequential requests per run")
        results = {}
        for label, cache_s, real in [
            ("baseline (no account)", 5.0, False),
            ("cached (default)", 5.0, True),
            ("uncached (cache 0 s)", 0.0, True),
        ]:
            print(f"  {label} ...", flush=True)
            results[label] = measure(database.url, Path(tmp), cache_s, real, options.requests)
    base = results["baseline (no account)"]
    print(f"\n{'run':<24}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'req/s vs baseline':>20}")
    for label, figures in results.items():
        ratio = figures["rps"] / base["rps"]
        print(
            f"{label:<24}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}"
            f"{figures['p95_ms']:>10.2f}{ratio:>20.2f}"
        )


if __name__ == "__main__":
    main()

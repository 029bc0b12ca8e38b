"""Where an ingest run's CPU goes (`make bench-ingest-cpu`): per process, per event, and the
box's idle time, for our collector and for each half of the bound `make bench-ingest` uses.

Why: `make bench-ingest` reports ours as a share of `1 / (1/empty collector + 1/raw COPY)`, and
throughput alone does not say what holds either side back. Each run here is the same as there
(200,000 realistic events in batches of 100 over HTTP, 16 requests in flight; COPY of the same
rows) and is measured by the CPU time of every process taking part, read from /proc before and
after, and by the idle share of the box's two cores (/proc/stat). The CPU figures per event move
with the box's speed (this VM runs at two speeds about 1.6x apart); their proportions and the
idle shares are what to compare, and every setup is measured in each round, back to back. A
round in which the box switched speed between its runs stands out: its CPU per event differs
between the setups by the same factor, and its share with it.

From them it prints what the throughput share could reach with no idle time at ours' CPU per
event, and the CPU per event that 80 % would need at ours' own idle share. Over HTTP it also
samples, every few milliseconds, which of the API, the load generator and Postgres are runnable
(state R in /proc): how often each could use a core, and how often it was the only one that
could, the others waiting for it (the sampler itself, a thread of this process, takes a few per
cent of a core).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg

from api.server import api_subprocess, free_port
from bench.environment import REPO, machine_description, report
from bench.ingest import BATCH, collector_env, copy_events, ingest_setup, truncate
from bench.postgres_cpu import cpu_seconds, postgres_cpu, postgres_cpu_since, postgres_pids

TARGET_SHARE = 0.8
SAMPLE_EVERY_S = 0.003
LOOK_UP_EVERY_S = 0.5


@dataclass
class CpuSplit:
    """One run: its events/s, CPU µs per event by part, and the box's idle share."""

    events_per_s: float
    cpu_us: dict[str, float] = field(default_factory=dict)
    idle: float = 0.0
    runnable: dict[str, float] = field(default_factory=dict)  # share of samples, by part
    alone: dict[str, float] = field(default_factory=dict)  # runnable with no other part

    @property
    def total_us(self) -> float:
        return sum(self.cpu_us.values())


def _box_times() -> tuple[float, float]:
    """Idle (with iowait) and total jiffies of all CPUs since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return values[3] + values[4], sum(values)


@contextmanager
def measured(split: CpuSplit, events: int, parts: dict[str, int]) -> Iterator[None]:
    """Fill `split` with the CPU µs per event of the processes `parts` names (pid by part) and of
    Postgres, and the box's idle share, over the block."""
    before = {part: cpu_seconds(pid) for part, pid in parts.items()}
    postgres_before = postgres_cpu()
    idle_before, total_before = _box_times()
    yield
    idle_after, total_after = _box_times()
    postgres = postgres_cpu_since(postgres_before)
    for part, pid in parts.items():
        split.cpu_us[part] = 1e6 * (cpu_seconds(pid) - before[part]) / events
    split.cpu_us["Postgres"] = 1e6 * postgres / events
    split.idle = (idle_after - idle_before) / (total_after - total_before)


def _is_runnable(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "R"
    except (FileNotFoundError, ProcessLookupError):
        return False


class RunStates:
    """Which parts (name: a function giving its pids) are runnable, sampled in a thread until
    stopped; the shares of samples go into a CpuSplit."""

    def __init__(self, parts: dict[str, Callable[[], list[int]]]) -> None:
        self._parts = parts
        self._samples: Counter[frozenset[str]] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RunStates:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        pids: dict[str, list[int]] = {}
        looked_up = 0.0
        while not self._stop.wait(SAMPLE_EVERY_S):
            if time.monotonic() - looked_up > LOOK_UP_EVERY_S:  # backends open under load
                pids = {part: pids_of() for part, pids_of in self._parts.items()}
                looked_up = time.monotonic()
            self._samples[
                frozenset(part for part, found in pids.items() if any(map(_is_runnable, found)))
            ] += 1

    def fill(self, split: CpuSplit) -> None:
        total = sum(self._samples.values()) or 1
        for part in self._parts:
            split.runnable[part] = sum(n for s, n in self._samples.items() if part in s) / total
            split.alone[part] = self._samples[frozenset({part})] / total


def _load(url: str, bodies_file: Path, api_pid: int) -> tuple[dict, float, RunStates]:
    """Run the load generator to the end, sampling run states meanwhile: its result, its CPU
    seconds and the run states."""
    generator = subprocess.Popen(
        [sys.executable, "-m", "bench.load", "throughput", url, str(bodies_file), "16"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert generator.stdout is not None
    parts = {
        "API": lambda: [api_pid, *(c.pid for c in psutil.Process(api_pid).children())],
        "load generator": lambda: [generator.pid],
        "Postgres": postgres_pids,
    }
    with RunStates(parts) as states:
        output = generator.stdout.read()
    _, status, usage = os.wait4(generator.pid, 0)
    generator.returncode = os.waitstatus_to_exitcode(status)
    if generator.returncode:
        raise SystemExit(f"the load generator failed ({generator.returncode})")
    return json.loads(output), usage.ru_utime + usage.ru_stime, states


def over_http(
    args: list[str], env: dict[str, str], port: int, bodies_file: Path, events: int
) -> CpuSplit:
    """A throughput run against the API that `args` starts, measured."""
    with api_subprocess(args, env, port, cwd=REPO) as api:
        split = CpuSplit(0.0)
        with measured(split, events, {"API": api.pid}):
            result, load_seconds, states = _load(f"http://127.0.0.1:{port}", bodies_file, api.pid)
    if result["errors"]:
        raise SystemExit(f"{result['errors']} requests failed; the run is invalid")
    split.events_per_s = events / result["seconds"]
    split.cpu_us["load generator"] = 1e6 * load_seconds / events
    states.fill(split)
    return split


def raw_copy(events: list[dict], url: str) -> CpuSplit:
    """COPY of the same rows (`bench.ingest.copy_events`), measured; the client is this
    process."""
    truncate(url)
    split = CpuSplit(0.0)
    with psycopg.connect(url) as conn:
        client_before, started = time.process_time(), time.perf_counter()
        with measured(split, len(events), {}):
            copy_events(conn, events)
        elapsed = time.perf_counter() - started
        split.cpu_us["COPY client"] = 1e6 * (time.process_time() - client_before) / len(events)
    split.events_per_s = len(events) / elapsed
    return split


def describe(label: str, split: CpuSplit) -> str:
    parts = ", ".join(f"{part} {us:.1f}" for part, us in split.cpu_us.items())
    states = ", ".join(
        f"{part} {share:.0%} ({split.alone[part]:.0%} alone)"
        for part, share in split.runnable.items()
    )
    return (
        f"| {label} | {split.events_per_s:,.0f} | {parts} | {split.total_us:.1f} |"
        f" {split.idle:.0%} | {states or '-'} |"
    )


def summary(rounds: list[dict[str, CpuSplit]]) -> list[str]:
    """What the rounds say about the share: as measured, with no idle, and what 80 % needs."""
    lines = []
    for n, run in enumerate(rounds, 1):
        ours, empty, copy = run["ours"], run["empty collector"], run["raw COPY"]
        bound = 1 / (1 / empty.events_per_s + 1 / copy.events_per_s)
        cores = psutil.cpu_count() or 1
        no_idle = cores * 1e6 / ours.total_us
        needed_us = cores * 1e6 * (1 - ours.idle) / (TARGET_SHARE * bound)
        lines.append(
            f"- Round {n}: bound {bound:,.0f} events/s; ours {ours.events_per_s / bound:.0%} of"
            f" it with the box {ours.idle:.0%} idle (the empty collector left it"
            f" {empty.idle:.0%} idle, COPY {copy.idle:.0%}). With no idle, ours' CPU per event"
            f" ({ours.total_us:.0f} µs) would give {no_idle:,.0f} events/s,"
            f" {no_idle / bound:.0%}; {TARGET_SHARE:.0%} at its own idle share needs"
            f" {needed_us:.0f} µs, {1 - needed_us / ours.total_us:.0%} less."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "RESULTS.md")
    options = parser.parse_args()
    print(f"machine: {machine_description()}")
    with ingest_setup(options.events) as setup:
        events, bodies_file, db = setup.events, setup.bodies_file, setup.database
        env = collector_env(db.url, setup.tmp / "home")
        port = free_port()
        rounds: list[dict[str, CpuSplit]] = []
        for n in range(options.rounds):
            print(f"round {n + 1} of {options.rounds}:", flush=True)
            truncate(db.url)
            run = {
                "ours": over_http(
                    ["-m", "everreach_cli", "serve", "--port", str(port)],
                    env,
                    port,
                    bodies_file,
                    len(events),
                ),
                "empty collector": over_http(
                    ["-m", "bench.empty_collector", str(port)],
                    {},
                    port,
                    bodies_file,
                    len(events),
                ),
                "raw COPY": raw_copy(events, db.url),
            }
            for label, split in run.items():
                print(f"  {describe(label, split)}", flush=True)
            rounds.append(run)
    rows = [
        describe(f"{label}, round {n}", split)
        for n, run in enumerate(rounds, 1)
        for label, split in run.items()
    ]
    rates = [r["ours"].events_per_s for r in rounds]
    report(
        [
            f"## Ingest CPU by process ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            "",
            f"Command: `make bench-ingest-cpu` · machine: {machine_description()} · {db.server};"
            f" {options.events:,} events, batches of {BATCH}, 16 requests in flight; CPU µs per"
            " event of each process (Postgres: its backends and its own processes), the box's"
            " idle share over the run; the share of samples (every 3 ms) in which each part"
            " was runnable, and runnable with neither other part.",
            "",
            "| run | events/s | CPU µs per event | total | box idle | runnable (alone) |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            *summary(rounds),
            f"- Ours, events/s by round: {', '.join(f'{rate:,.0f}' for rate in rates)}"
            f" (median {statistics.median(rates):,.0f}).",
            "",
        ],
        options.results,
    )


if __name__ == "__main__":
    main()

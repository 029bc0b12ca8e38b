"""CPU seconds the local database server spent, read through psutil (/proc).

Wall-clock ratios on this shared 2-core box move by several per cent between runs of the same
code; the server's own CPU time moves less, since time the box gives other work is not counted.
Exited processes count too: Postgres's backends and parallel workers are the postmaster's
children, and their CPU is added to its children's times when it reaps them, so a query's
parallel workers, gone by the time it returns, are still in the sum.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process (0 once it is gone)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def _postgres_processes() -> Iterator[psutil.Process]:
    """The database server's processes: the backends and the server's own (WAL writer,
    checkpointer, autovacuum...)."""
    return (p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres")


def postgres_pids() -> list[int]:
    """The pids of the database server's processes."""
    return [process.pid for process in _postgres_processes()]


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of the database server's processes, by pid; the postmaster's (the one whose
    parent is not a postgres process) includes its exited children's."""
    found: dict[int, float] = {}
    for process in _postgres_processes():
        try:
            times = process.cpu_times()
            parent = process.parent()
            is_postmaster = parent is None or parent.name() != "postgres"
        except psutil.NoSuchProcess:
            continue
        found[process.pid] = times.user + times.system
        if is_postmaster:
            found[process.pid] += times.children_user + times.children_system
    return found


def postgres_cpu_since(before: dict[int, float]) -> float:
    """The server's CPU seconds since `before` (from `postgres_cpu`); a process started since
    counts whole."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_cpu().items())

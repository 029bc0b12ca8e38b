"""Where a benchmark runs: a fresh database on the external server when it answers, else on the
embedded one; API processes started and stopped around a measurement; the machine described."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

from everreach.platform.embedded_postgres import start_embedded
from everreach.platform.migrations import scratch_database

EXTERNAL_URL = os.environ.get(
    "EVERREACH_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    server: str  # "external 127.0.0.1:5432" or "embedded"


def machine_description() -> str:
    memory_gib = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {psutil.cpu_count()} cores, "
        f"{memory_gib:.0f} GiB, Python {platform.python_version()}"
    )


@contextlib.contextmanager
def bench_database(tmp_home: Path) -> Iterator[BenchDatabase]:
    """A fresh migrated database, dropped afterwards."""
    try:
        psycopg.connect(EXTERNAL_URL, connect_timeout=2).close()
        server_url, label, embedded = EXTERNAL_URL, "external Postgres at 127.0.0.1:5432", None
    except psycopg.OperationalError:
        embedded = start_embedded(tmp_home / "pgdata")
        server_url, label = embedded.uri, "embedded Postgres"
    try:
        with scratch_database(server_url, "everreach_bench") as url:
            yield BenchDatabase(url=url, server=label)
    finally:
        if embedded is not None:
            embedded.stop()


def report(lines: list[str], results: Path) -> None:
    """Print a benchmark's Markdown section and append it to the results file."""
    print("\n".join(lines))
    # A blank line before the section's heading, whatever the file ended with (notes added by
    # hand after the last run often end without one, and the heading then ran into them).
    ends_blank = not results.exists() or results.read_text(encoding="utf-8").endswith("\n\n")
    with results.open("a", encoding="utf-8") as handle:
        handle.write(("" if ends_blank else "\n") + "\n".join(lines) + "\n")
    print(f"appended to {results}")


def against(before: float, after: float, better: str, worse: str) -> str:
    """`after` compared with `before` as a reader says it: "2.50× less" or "1.17× slower", never
    "0.90× faster" for a step that got slower."""
    if after <= before:
        return f"{before / max(after, 1e-9):.2f}× {better}"
    return f"{after / before:.2f}× {worse}"

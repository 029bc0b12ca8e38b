"""Export benchmark (`make bench-export`): one day of `ml_response_samples` to Parquet.

Seeds a day of N rows (default 1 M) in `analytics.ml_response_samples`, then exports it three
ways, each in a fresh process so its peak memory (max RSS) is its own:

1. ours: `everreach.datasets.tabular_writer.write_query`, COPY CSV streamed into Arrow, Parquet
   (zstd) row groups;
2. baseline pandas: `pandas.read_sql` + `DataFrame.to_parquet` (zstd), the usual notebook way;
3. baseline raw COPY: `COPY (query) TO STDOUT` read and discarded, the ceiling for any exporter.

Targets (from the issue): at least 3x the pandas rate, at least half the raw COPY rate, peak
memory under 300 MB at 1 M and at 10 M rows. pandas is skipped above --pandas-max rows (it holds
the whole result in memory).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psycopg

from bench.environment import bench_database, machine_description
from everreach.datasets.partitions import partition_query
from everreach.datasets.sql_models import load_models, materialize
from everreach.platform.days import day_window

DAY = date(2026, 1, 15)
MODEL = "ml_response_samples"
SEED_CHUNK = 500_000


def seed(url: str, rows: int) -> None:
    """`rows` samples spread over DAY, with prompt/response texts of realistic length."""
    start, _ = day_window(DAY)
    with psycopg.connect(url, autocommit=True) as conn:
        for model in load_models().values():  # views, then the (empty) samples table
            materialize(conn, model, day_window(DAY) if model.partitioned else None)
        for first in range(0, rows, SEED_CHUNK):
            last = min(rows, first + SEED_CHUNK)
            conn.execute(
                """
                INSERT INTO analytics.ml_response_samples
                SELECT md5(i::text)::uuid, 'user-' || (i %% 5000), (ARRAY['gpt-4o-mini',
                       'gpt-4o', 'claude-3-haiku'])[1 + i %% 3],
                       %(start)s::timestamptz + (i * interval '86399 milliseconds') / %(rows)s,
                       'Draft a warm follow-up to ' || md5(i::text) || ' about the meeting',
                       repeat('Sure! Here is a friendly note, with "quotes", commas, and care. ',
                              3 + i %% 5) || md5((i * 7)::text),
                       50 + i %% 400, (i %% 1000) / 100000.0, 300 + i %% 3000,
                       i %% 3, i %% 2, (i %% 7 = 0)::int, i %% 2 - (i %% 7 = 0)::int, i %% 3 > 0,
                       CASE WHEN i %% 4 = 0 THEN NULL ELSE 1000 + i %% 20000 END
                FROM generate_series(%(first)s, %(last)s - 1) AS i
                """,
                {"start": start, "rows": rows, "first": first, "last": last},
            )
            print(f"  seeded {last:,} / {rows:,} rows", file=sys.stderr, flush=True)
        conn.execute("ANALYZE analytics.ml_response_samples")


def measure(method: str, url: str, out: Path) -> dict[str, float]:
    """Run one export in this process; report rows, seconds and peak RSS."""
    query = partition_query(load_models()[MODEL], day_window(DAY))
    started = time.perf_counter()
    if method == "ours":
        from everreach.datasets.tabular_writer import write_query

        with psycopg.connect(url) as conn:
            rows = write_query(conn, query, out)["parquet"].rows
    elif method == "pandas":
        import pandas as pd
        from sqlalchemy import create_engine

        from everreach.platform.database import with_driver

        engine = create_engine(with_driver(url, "psycopg"))
        with engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        frame.to_parquet(out, compression="zstd", index=False)
        rows = len(frame)
    else:
        rows = 0
        with (
            psycopg.connect(url) as conn,
            conn.cursor().copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy,
        ):
            for chunk in copy:
                rows += bytes(chunk).count(b"\n")  # upper bound: quoted newlines count too
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": rows, "seconds": seconds, "peak_mb": peak_mb}


def run_child(method: str, url: str, out: Path) -> dict[str, float]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.export",
            "--measure",
            method,
            "--url",
            url,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{method} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pandas-max", type=int, default=2_000_000)
    parser.add_argument("--measure", choices=("ours", "pandas", "copy"))
    parser.add_argument("--url")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.url, args.out)))
        return

    print(f"machine: {machine_description()}")
    with tempfile.TemporaryDirectory() as scratch, bench_database(Path(scratch)) as db:
        print(f"database: {db.server}; seeding {args.rows:,} rows for {DAY}")
        seed(db.url, args.rows)
        methods = ["copy", "ours"] + (["pandas"] if args.rows <= args.pandas_max else [])
        results = {}
        for method in methods:
            print(f"  measuring {method}...", file=sys.stderr, flush=True)
            results[method] = run_child(method, db.url, Path(scratch) / f"{method}.parquet")
    print(f"\n{'method':<36} {'rows':>11} {'seconds':>8} {'rows/s':>11} {'peak MB':>8}")
    names = {
        "ours": "ours (COPY -> Arrow -> Parquet)",
        "pandas": "pandas read_sql + to_parquet",
        "copy": "raw COPY TO STDOUT (discarded)",
    }
    for method, r in results.items():
        rate = r["rows"] / r["seconds"]
        print(
            f"{names[method]:<36} {int(r['rows']):>11,} {r['seconds']:>8.2f} {rate:>11,.0f} "
            f"{r['peak_mb']:>8.0f}"
        )
    ours = results["ours"]["rows"] / results["ours"]["seconds"]
    copy = args.rows / results["copy"]["seconds"]
    print(f"\nours / raw COPY rate: {ours / copy:.2f}  (target >= 0.5)")
    if "pandas" in results:
        pandas = results["pandas"]["rows"] / results["pandas"]["seconds"]
        print(f"ours / pandas rate:   {ours / pandas:.2f}  (target >= 3)")
    else:
        print(f"pandas skipped above {args.pandas_max:,} rows (it holds every row in memory)")
    print(f"ours peak memory:     {results['ours']['peak_mb']:.0f} MB  (target < 300 MB)")


if __name__ == "__main__":
    main()

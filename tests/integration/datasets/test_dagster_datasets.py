"""The Dagster assets on real traffic: synthetic users replayed through the real API into a real
Postgres, then materialized with `dagster.materialize` (in-process, ephemeral instance).

One database and one replay serve the module (materializing is the slow part). The replay sends
each backlog with a correct `sent_at`, so the events keep their generated days: one partition
each.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import polars as pl
import psycopg
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from dagster_aws.s3 import S3Resource

try:
    import datasets as hf_datasets
except ImportError:  # Hugging Face `datasets` is optional (large); its check is skipped
    hf_datasets = None

from api.app import create_app
from api.server import serve_in_thread
from everreach.accounts.tokens import TokenCodec
from everreach.datasets.alerts import ALERTS
from everreach.datasets.partitions import DatasetStore, count_partition, read_manifest
from everreach.plan import DurationLabel, NetCountLabel, RatioLabel, load_plan
from everreach.platform.migrations import scratch_database
from everreach_cli.replay import replay
from everreach_cli.synthetic_traffic import FAULT_RETRY, SyntheticRequest, generate_traffic
from everreach_dagster.definitions import AssetGraph, build_assets
from everreach_dagster.resources import DatabaseResource, DatasetStorageResource, s3_resource
from tests.conftest import TEST_JWT_SECRET, make_settings
from tests.dagster_support import latest_materialization, postgres_instance
from tests.helpers import bearer, new_id, prompt_props, response_props
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, s3_server

END = datetime(2026, 3, 4, tzinfo=UTC)
DAYS = 3
TRAFFIC_DAYS = [(END - timedelta(days=d)).date() for d in range(DAYS, 0, -1)]
DATASET_KEY = dg.AssetKey(["datasets", "ml_response_samples_files"])


@dataclass
class Seeded:
    database_url: str
    base_url: str
    tokens: TokenCodec
    requests: list[SyntheticRequest]
    root: Path
    graph: AssetGraph

    def resources(self, root: Path | None = None) -> dict[str, Any]:
        settings = make_settings(self.root.parent, self.database_url)
        return {
            "database": DatabaseResource(url=self.database_url),
            "datasets": DatasetStorageResource(
                root=str(root or self.root), s3=s3_resource(settings)
            ),
        }


@pytest.fixture(scope="module")
def seeded(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with scratch_database(pg_server_url, "everreach_dagster") as url:
        home = tmp_path_factory.mktemp("dagster-home")
        settings = make_settings(home, url, rate_limit_events=1_000_000)
        requests = generate_traffic(users=40, days=DAYS, seed=11, end=END)
        tokens = TokenCodec(TEST_JWT_SECRET)
        with serve_in_thread(create_app(settings, url)) as base_url:
            stats = asyncio.run(replay(base_url, requests, tokens))
            assert not stats.failed_requests
            graph = build_assets(settings)
            seeded = Seeded(url, base_url, tokens, requests, home / "datasets", graph)
            materialize(seeded, graph.unpartitioned)
            for day in TRAFFIC_DAYS:
                materialize(seeded, graph.daily, day)
            yield seeded


def materialize(
    seeded: Seeded,
    assets: list[dg.AssetsDefinition],
    day: date | None = None,
    root: Path | None = None,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        resources=seeded.resources(root),
        partition_key=day.isoformat() if day else None,
        instance=dg.DagsterInstance.ephemeral(),
    )


# --------------------------------------------------------------------------------------------------
# Plain-Python recomputation of the labels, from the generated requests


@dataclass(frozen=True)
class Ev:
    name: str
    person: str
    at: datetime
    props: dict[str, Any]


def accepted_events(requests: list[SyntheticRequest]) -> list[Ev]:
    raw: list[tuple[dict[str, Any], str | None]] = []
    links: dict[str, str] = {}
    for request in requests:
        if request.fault == FAULT_RETRY:
            continue
        for i, event in enumerate(request.events):
            if i in request.faulty_events:
                continue
            raw.append((event, request.user_id))
            anon = event.get("anonymous_id")
            if request.user_id and anon:
                links.setdefault(anon, request.user_id)
            if event["name"] == "signup_completed" and event["props"].get("user_id") and anon:
                links.setdefault(anon, event["props"]["user_id"])
    return [
        Ev(
            name=event["name"],
            person=user or links.get(event.get("anonymous_id"), event.get("anonymous_id")),
            at=datetime.fromisoformat(event["timestamp"]).astimezone(UTC),
            props=event["props"],
        )
        for event, user in raw
    ]


def numerator_counts(label: RatioLabel, e: Ev, first_at: datetime, day: date) -> bool:
    """Whether numerator event `e` counts for a denominator key first seen at `first_at`."""
    hours = label.numerator.within_hours
    if label.numerator.within == "denominator":
        return True
    if hours is not None:
        return first_at <= e.at < first_at + timedelta(hours=hours)
    return e.at.date() == day


def python_labels(events: list[Ev], day: date) -> dict[tuple[str, str], tuple[float | None, int]]:
    """(label, segment) -> (value, denominator) for one day, straight from the plan's specs."""
    in_day = [e for e in events if e.at.date() == day]
    out: dict[tuple[str, str], tuple[float | None, int]] = {}
    for label in load_plan().labels.values():
        if isinstance(label, NetCountLabel):
            net: dict[str, int] = defaultdict(int)
            for e in in_day:
                if e.name in label.plus:
                    net[e.props[label.key]] += 1
                elif e.name in label.minus:
                    net[e.props[label.key]] -= 1
            out[(label.name, "")] = (statistics.mean(net.values()) if net else None, len(net))
        elif isinstance(label, DurationLabel):
            starts: dict[str, datetime] = {}
            for e in in_day:
                if e.name == label.start:
                    k = e.props[label.key]
                    starts[k] = min(starts.get(k, e.at), e.at)
            durations = []
            for k, started in starts.items():
                ends = [
                    e.at
                    for e in events
                    if e.name in label.end and e.props.get(label.key) == k and e.at >= started
                ]
                if ends:
                    durations.append((min(ends) - started).total_seconds() * 1000)
            out[(label.name, "")] = (
                statistics.median(durations) if durations else None,
                len(durations),
            )
        else:
            assert isinstance(label, RatioLabel)

            def key(e: Ev, distinct: str) -> str | None:
                return e.person if distinct == "user" else e.props.get(distinct)

            den_events = [e for e in in_day if e.name == label.denominator.event]
            den = {
                (key(e, label.denominator.distinct), "|".join(e.props[p] for p in label.by))
                for e in den_events
            }
            first_at: dict[str, datetime] = {}
            for e in den_events:
                k = key(e, label.denominator.distinct)
                first_at[k] = min(first_at.get(k, e.at), e.at)
            num = {
                k
                for e in events
                if e.name == label.numerator.event
                and (k := key(e, label.numerator.distinct)) in first_at
                and numerator_counts(label, e, first_at[k], day)
            }
            den_keys = {k for k, _ in den}
            out[(label.name, "")] = (len(num) / len(den_keys) if den_keys else None, len(den_keys))
            if label.by:
                for segment in {s for _, s in den}:
                    keys = {k for k, s in den if s == segment}
                    out[(label.name, segment)] = (len(keys & num) / len(keys), len(keys))
    return out


def test_label_metrics_equal_a_plain_python_recomputation(seeded: Seeded, db_of) -> None:
    events = accepted_events(seeded.requests)
    for day in TRAFFIC_DAYS:
        expected = python_labels(events, day)
        rows = (
            db_of(seeded)
            .execute(
                "SELECT label, segment, value, denominator FROM analytics.label_metrics "
                "WHERE day = %s",
                (day,),
            )
            .fetchall()
        )
        got = {(label, segment): (value, den) for label, segment, value, den in rows}
        assert set(got) == set(expected), day
        for key, (value, den) in expected.items():
            assert got[key][1] == den, (day, key)
            if value is None:
                assert got[key][0] is None, (day, key)
            else:
                assert got[key][0] == pytest.approx(value, rel=1e-9, abs=1e-9), (day, key)
    # The traffic exercises every label on some day (otherwise the comparison proves little).
    assert all(
        any(python_labels(events, d)[(name, "")][1] > 0 for d in TRAFFIC_DAYS)
        for name in load_plan().labels
    )


@pytest.fixture
def db_of() -> Iterator[Any]:
    opened: list[psycopg.Connection[Any]] = []

    def connect(seeded: Seeded) -> psycopg.Connection[Any]:
        conn = psycopg.connect(seeded.database_url, autocommit=True)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def test_row_counts_agree_across_source_files_and_manifest(seeded: Seeded, db_of) -> None:
    store = DatasetStore.local(seeded.root)
    events = accepted_events(seeded.requests)
    for day in TRAFFIC_DAYS:
        generated = sum(
            1 for e in events if e.name == "ai_response_generated" and e.at.date() == day
        )
        (source,) = (
            db_of(seeded)
            .execute(
                "SELECT count(*) FROM analytics.ml_response_samples "
                "WHERE created_at >= %s AND created_at < %s",
                (
                    datetime(day.year, day.month, day.day, tzinfo=UTC),
                    datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1),
                ),
            )
            .fetchone()
        )
        counts = count_partition(store, "ml_response_samples", day)
        assert generated > 0
        assert source == generated == counts.manifest == counts.parquet == counts.csv
        folder = seeded.root / "ml_response_samples" / f"dt={day.isoformat()}"
        assert [p.name for p in folder.iterdir()] == ["part-00000.parquet"]
        csv_folder = seeded.root / "csv" / "ml_response_samples" / f"dt={day.isoformat()}"
        assert [p.name for p in csv_folder.iterdir()] == ["part-00000.csv"]
        table = pq.read_table(folder / "part-00000.parquet")
        assert table.num_rows == generated
        assert (
            pq.ParquetFile(folder / "part-00000.parquet")
            .metadata.row_group(0)
            .column(0)
            .compression
            == "ZSTD"
        )


def test_partition_written_twice_has_the_same_sha256(seeded: Seeded) -> None:
    day = TRAFFIC_DAYS[1]
    store = DatasetStore.local(seeded.root)
    before = read_manifest(store, "ml_response_samples", day)
    folder = seeded.root / "ml_response_samples" / f"dt={day.isoformat()}"
    parquet_before = (folder / "part-00000.parquet").read_bytes()
    result = materialize(seeded, seeded.graph.daily, day)
    assert result.success
    after = read_manifest(store, "ml_response_samples", day)
    assert before.rows > 0
    assert [f.sha256 for f in after.files] == [f.sha256 for f in before.files]
    assert after == before
    assert (folder / "part-00000.parquet").read_bytes() == parquet_before


def test_a_backfill_run_over_the_range_equals_the_day_by_day_runs(
    seeded: Seeded, db_of, tmp_path: Path
) -> None:
    """One run over the three days (what a backfill does under `BackfillPolicy.single_run`)
    writes the same label rows and byte-identical files as the per-day runs of the fixture."""
    metrics_sql = (
        "SELECT day, label, segment, value, numerator, denominator FROM analytics.label_metrics "
        "WHERE day = ANY(%s) ORDER BY day, label, segment"
    )
    before = db_of(seeded).execute(metrics_sql, (TRAFFIC_DAYS,)).fetchall()
    result = dg.materialize(
        seeded.graph.daily,
        resources=seeded.resources(tmp_path),
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": TRAFFIC_DAYS[0].isoformat(),
            "dagster/asset_partition_range_end": TRAFFIC_DAYS[-1].isoformat(),
        },
    )
    assert result.success
    for node in ("ml_response_samples", "label_metrics"):
        reported = {m.partition for m in result.asset_materializations_for_node(node)}
        assert reported == {d.isoformat() for d in TRAFFIC_DAYS}, node
    after = db_of(seeded).execute(metrics_sql, (TRAFFIC_DAYS,)).fetchall()
    assert len(after) == len(before) > len(TRAFFIC_DAYS)
    for old, new in zip(before, after, strict=True):
        assert old[:3] == new[:3] and old[5] == new[5]
        assert new[3] == pytest.approx(old[3], rel=1e-9) if old[3] is not None else new[3] is None
    for day in TRAFFIC_DAYS:
        ranged = read_manifest(DatasetStore.local(tmp_path), "ml_response_samples", day)
        daily = read_manifest(DatasetStore.local(seeded.root), "ml_response_samples", day)
        assert ranged.rows > 0
        assert [f.sha256 for f in ranged.files] == [f.sha256 for f in daily.files]
        assert (tmp_path / "charts" / "label_metrics" / f"dt={day}" / "label_metrics.png").exists()
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["row_counts_match"].passed
    assert checks["row_counts_match"].metadata["days_disagreeing"].value == "none"
    assert checks["no_pii_in_text"].passed


def test_checks_pass_and_alerts_follow_the_thresholds(seeded: Seeded, db_of) -> None:
    day = TRAFFIC_DAYS[-1]
    result = materialize(seeded, seeded.graph.daily, day)
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    assert checks[("datasets/ml_response_samples_files", "row_counts_match")].passed
    assert checks[("datasets/ml_response_samples_files", "no_pii_in_text")].passed
    metrics = result.asset_materializations_for_node("label_metrics")[0].metadata
    verdicts = dict(
        db_of(seeded)
        .execute("SELECT alert, status FROM analytics.alert_verdicts WHERE day = %s", (day,))
        .fetchall()
    )
    for alert in ALERTS:
        evaluation = checks[("label_metrics", alert.name)]
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        if alert.metric in metrics:
            expected = "breached" if alert.breached(metrics[alert.metric].value) else "ok"
        else:
            expected = "no_data"
        assert verdicts[alert.name] == expected, alert.name
        fired = alert.name in metrics["alerts_fired"].value.split(", ")
        assert fired == (expected == "breached"), alert.name
    chart = metrics["chart"].value
    png = base64.b64decode(chart.split("base64,", 1)[1].rstrip(")"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert Path(metrics["chart_file"].value).read_bytes() == png


def test_a_late_event_appears_after_its_day_is_rematerialized(seeded: Seeded, db_of) -> None:
    day = TRAFFIC_DAYS[0] - timedelta(days=1)  # a day of its own, so other tests are unaffected
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat()
    user = new_id()
    prompt = prompt_props()
    response = response_props(prompt["prompt_id"])

    def send(*events: dict[str, Any]) -> None:
        import httpx

        body = {
            "batch": [
                {"name": n, "props": p, "event_id": new_id(), "timestamp": at} for n, p in events
            ]
        }
        r = httpx.post(
            f"{seeded.base_url}/v1/ingest", json=body, headers=bearer(seeded.tokens, user)
        )
        assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text

    def samples() -> list[dict[str, Any]]:
        path = seeded.root / "ml_response_samples" / f"dt={day.isoformat()}" / "part-00000.parquet"
        return pq.read_table(path).to_pylist()

    send(("prompt_submitted", prompt), ("ai_response_generated", response))
    materialize(seeded, seeded.graph.daily, day)
    assert [(r["response_id"], r["copied_count"]) for r in samples()] == [
        (response["response_id"], 0)
    ]

    late_response = response_props(prompt["prompt_id"])
    send(
        ("response_copied", {"response_id": response["response_id"]}),
        ("ai_response_generated", late_response),
    )
    assert len(samples()) == 1  # nothing changes until the day is re-materialized
    materialize(seeded, seeded.graph.daily, day)
    rows = {r["response_id"]: r for r in samples()}
    assert set(rows) == {response["response_id"], late_response["response_id"]}
    assert rows[response["response_id"]]["copied_count"] == 1
    assert rows[response["response_id"]]["was_copied"] is True


def test_pii_that_bypassed_the_collector_fails_the_check(seeded: Seeded, db_of) -> None:
    day = TRAFFIC_DAYS[0] - timedelta(days=2)
    created = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    db_of(seeded).execute(
        "INSERT INTO responses (response_id, prompt_id, user_id, model, text, created_at) "
        "VALUES (%s, %s, 'u-leak', 'gpt-4o-mini', %s, %s)",
        (uuid.uuid4(), uuid.uuid4(), "write to jane.doe@example.com today", created),
    )
    result = dg.materialize(
        seeded.graph.daily,
        resources=seeded.resources(),
        partition_key=day.isoformat(),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "no_pii_in_text"
    )
    assert not evaluation.passed
    assert evaluation.metadata["response_text_values_with_pii"].value == 1


def test_partitions_go_to_s3_through_dagster_aws(seeded: Seeded) -> None:
    day = TRAFFIC_DAYS[0]
    with s3_server() as s3:
        resources = {
            "database": DatabaseResource(url=seeded.database_url),
            "datasets": DatasetStorageResource(
                root=f"s3://{s3.bucket}/lake",
                s3=S3Resource(
                    endpoint_url=s3.endpoint_url,
                    region_name=REGION,
                    aws_access_key_id=ACCESS_KEY,
                    aws_secret_access_key=SECRET_KEY,
                ),
            ),
        }
        result = dg.materialize(
            seeded.graph.daily,
            resources=resources,
            partition_key=day.isoformat(),
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
        fs = pafs.S3FileSystem(
            endpoint_override=s3.endpoint_url.removeprefix("http://"),
            scheme="http",
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
        )
        folder = f"{s3.bucket}/lake/ml_response_samples/dt={day.isoformat()}"
        remote = pq.read_table(f"{folder}/part-00000.parquet", filesystem=fs)
        local = pq.read_table(
            seeded.root / "ml_response_samples" / f"dt={day.isoformat()}" / "part-00000.parquet"
        )
        assert remote.num_rows > 0
        assert remote.equals(local)
        manifest = f"{s3.bucket}/lake/manifests/ml_response_samples/dt={day}/_manifest.json"
        with fs.open_input_stream(manifest) as stream:
            assert json.loads(stream.readall())["rows"] == remote.num_rows


def test_each_day_of_a_range_run_reports_its_own_metadata(
    seeded: Seeded, db_of, pg_server_url: str, tmp_path: Path
) -> None:
    """A range run (one run over three days, as a backfill under `single_run`) leaves each
    day's materialization in the Postgres-backed instance with that day's row count, folder,
    files and sha256, as the day's `_manifest.json` says, for the dataset, the SQL model and
    the label metrics."""
    root = tmp_path / "datasets"
    with postgres_instance(pg_server_url, tmp_path / "home") as instance:
        result = dg.materialize(
            seeded.graph.daily,
            resources=seeded.resources(root),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": TRAFFIC_DAYS[0].isoformat(),
                "dagster/asset_partition_range_end": TRAFFIC_DAYS[-1].isoformat(),
            },
        )
        assert result.success
        store = DatasetStore.local(root)
        rows_by_day = []
        for day in TRAFFIC_DAYS:
            manifest = read_manifest(store, "ml_response_samples", day)
            rows_by_day.append(manifest.rows)
            files = latest_materialization(instance, DATASET_KEY, day.isoformat()).metadata
            assert files["dagster/row_count"].value == manifest.rows
            assert files["dagster/uri"].value == str(
                root / "ml_response_samples" / f"dt={day.isoformat()}"
            )
            assert files["files"].value == {
                f.path: {"sha256": f.sha256, "bytes": f.bytes, "rows": f.rows}
                for f in manifest.files
            }
            model = latest_materialization(
                instance, dg.AssetKey("ml_response_samples"), day.isoformat()
            ).metadata
            assert model["dagster/row_count"].value == manifest.rows
            (label_rows,) = (
                db_of(seeded)
                .execute("SELECT count(*) FROM analytics.label_metrics WHERE day = %s", (day,))
                .fetchone()
            )
            metrics = latest_materialization(instance, dg.AssetKey("label_metrics"), str(day))
            assert metrics.metadata["dagster/row_count"].value == label_rows
            assert metrics.metadata["chart_file"].value.endswith(f"dt={day}/label_metrics.png")
        assert len(set(rows_by_day)) > 1  # the days differ, so a range total would show


def test_the_dataset_folder_opens_as_one_table_in_every_reader(
    seeded: Seeded, tmp_path: Path
) -> None:
    """`<root>/ml_response_samples` is one Hive-partitioned table: pandas, pyarrow, polars,
    DuckDB and Hugging Face `datasets` read every day's rows (with `dt` where the reader knows
    Hive partitions), locally and, for pyarrow-backed readers and polars, on S3 (moto)."""
    folder = seeded.root / "ml_response_samples"
    store = DatasetStore.local(seeded.root)
    expected = {
        p.name.removeprefix("dt="): read_manifest(
            store, "ml_response_samples", date.fromisoformat(p.name.removeprefix("dt="))
        ).rows
        for p in folder.iterdir()
    }
    assert sum(expected.values()) > 0

    def per_day(days: list[object]) -> dict[str, int]:
        return dict(Counter(str(d) for d in days))

    frame = pd.read_parquet(folder)
    assert per_day(frame["dt"].tolist()) == expected
    table = pads.dataset(folder, format="parquet", partitioning="hive").to_table()
    assert per_day(table.column("dt").to_pylist()) == expected
    assert per_day(pl.scan_parquet(folder).collect()["dt"].to_list()) == expected
    rows = duckdb.sql(
        f"SELECT dt, count(*) FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true)"
        " GROUP BY dt"
    ).fetchall()
    assert {str(d): n for d, n in rows} == expected
    if hf_datasets is not None:
        hf = hf_datasets.load_dataset(
            "parquet", data_dir=str(folder), split="train", cache_dir=str(tmp_path / "hf")
        )
        assert hf.num_rows == sum(expected.values())  # the parquet builder adds no dt column

    with s3_server() as s3:
        day = TRAFFIC_DAYS[0]
        resources = {
            "database": DatabaseResource(url=seeded.database_url),
            "datasets": DatasetStorageResource(
                root=f"s3://{s3.bucket}/lake",
                s3=S3Resource(
                    endpoint_url=s3.endpoint_url,
                    region_name=REGION,
                    aws_access_key_id=ACCESS_KEY,
                    aws_secret_access_key=SECRET_KEY,
                ),
            ),
        }
        assert dg.materialize(
            seeded.graph.daily,
            resources=resources,
            instance=dg.DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": day.isoformat(),
                "dagster/asset_partition_range_end": TRAFFIC_DAYS[-1].isoformat(),
            },
        ).success
        on_s3 = {d.isoformat(): expected[d.isoformat()] for d in TRAFFIC_DAYS}
        fs = pafs.S3FileSystem(
            endpoint_override=s3.endpoint_url.removeprefix("http://"),
            scheme="http",
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
        )
        remote = f"{s3.bucket}/lake/ml_response_samples"
        frame = pd.read_parquet(remote, filesystem=fs)
        assert per_day(frame["dt"].tolist()) == on_s3
        dataset = pads.dataset(remote, filesystem=fs, format="parquet", partitioning="hive")
        assert per_day(dataset.to_table().column("dt").to_pylist()) == on_s3
        # DuckDB's own S3 reader is an extension it downloads; it queries the pyarrow dataset.
        rows = duckdb.sql("SELECT dt, count(*) FROM dataset GROUP BY dt").fetchall()
        assert {str(d): n for d, n in rows} == on_s3
        lazy = pl.scan_parquet(
            f"s3://{remote}/",
            hive_partitioning=True,
            storage_options={
                "aws_endpoint_url": s3.endpoint_url,
                "aws_access_key_id": ACCESS_KEY,
                "aws_secret_access_key": SECRET_KEY,
                "aws_region": REGION,
                "aws_allow_http": "true",
            },
        )
        assert per_day(lazy.collect()["dt"].to_list()) == on_s3

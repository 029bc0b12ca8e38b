"""`everreach demo` goes on from the replay to the datasets: every asset is materialized for the
demo's days (on the embedded server, with Dagster's instance in Postgres beside the app's) by the
named `event_partitions` and `refresh_models` jobs and a real backfill, all tagged as the demo's,
and the partitions, label metrics, the alerts that fired and what to do next are printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import pytest

from everreach.platform import Settings, database_session
from everreach_dagster.instance import prepare_dagster_home
from tests.e2e.test_embedded_default import run_cli


@pytest.mark.slow  # a real backfill: the Dagster daemon picks it up within its 30 s interval
@pytest.mark.timeout(600)
def test_demo_materializes_datasets_and_prints_label_metrics(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run_cli(home, "demo", "--users", "25", "--days", "1", "--seed", "5")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    folders = re.findall(r"^\s+(/\S+/ml_response_samples/dt=\d{4}-\d{2}-\d{2})$", out, re.M)
    assert folders, out
    manifests = [
        json.loads(
            (Path(f).parents[1] / "manifests" / Path(f).parent.name / Path(f).name)
            .joinpath("_manifest.json")
            .read_text()
        )
        for f in folders
    ]
    responses = int(re.search(r"^\s*responses\s+(\d+)\s*$", out, re.M).group(1))
    assert sum(m["rows"] for m in manifests) == responses > 0
    chart = re.search(r"chart of the label metrics: (\S+\.png)$", out, re.M)
    assert chart and Path(chart.group(1)).read_bytes().startswith(b"\x89PNG")
    table = out.split("label metrics, one bar per day", 1)[1]
    for label in ("copy_rate", "dwell_ms", "helpful", "onboarding_completion_rate"):
        # a label, its daily bars, and its latest value (or "-" if it never had data); a net
        # count such as `helpful` (likes minus dislikes) can be negative
        assert re.search(rf"^  {label}\s+[▁▂▃▄▅▆▇█ ]+\s+(-|-?[\d.]+)\s+\d+$", table, re.M), (
            label,
            table,
        )
    assert re.search(r"failed dagster runs\s+0$", out, re.M)
    assert (home.resolve() / "dagster" / "dagster.yaml").exists()
    backfill_id = re.search(r"^backfill (\w+): \d+ day\(s\)", out, re.M).group(1)
    alerts = out.split("\nalerts fired\n", 1)[1].split("\nnext\n", 1)[0]
    assert len(alerts.splitlines()) == len(folders)  # one line per day: its alerts or "none"
    assert "make dev" in out and "http://127.0.0.1:3000" in out
    assert "everreach materialize --from" in out

    with database_session(Settings(home=home, database_url=None)) as database:
        env = prepare_dagster_home(home.resolve(), database)
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None and backfill.status.value == "COMPLETED_SUCCESS"
            assert backfill.tags["everreach/source"] == "everreach demo"
            runs = instance.get_runs(dg.RunsFilter(tags={"everreach/source": "everreach demo"}))
            assert {"event_partitions", "refresh_models"} <= {r.job_name for r in runs}
            # the UI shows the event store's asset materialized, not "never materialized"
            partitions = instance.get_latest_materialization_event(
                dg.AssetKey("app_events_partitions")
            )
            assert partitions is not None
            # the demo made the day partitions before its traffic: none went to DEFAULT
            metadata = partitions.asset_materialization.metadata
            assert metadata["moved_events"].value == 0
            assert "__ephemeral_asset_job__" not in {r.job_name for r in instance.get_runs()}

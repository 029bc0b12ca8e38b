"""Every label of analytics/events.yml on hand-built traffic with known answers, and the alerts
judged per day: sent through the real API, materialized by the real assets on a Dagster
instance stored in Postgres.

The traffic (day D = 2026-05-12, D+1, D+2; times UTC):

* responses R1, R2 (gpt-4o-mini), R3, R4 (claude) generated on D; rendered at 10:00, 11:00,
  12:00, 13:00. R1: like +2 s, like, like, dislike; copied +5 s. R2: dislike +10 s. R3: copied on
  D+1 at 12:00 (+24 h). R4: copied +1 s. R9 (generated the day before) copied on D.
  helpful (D) = mean(3 - 1, -1) = 0.5 over 2; copy_rate = 3/4 (gpt-4o-mini 1/2, claude 2/2);
  dwell_ms = median(2000, 10000, 86 400 000, 1000) = 6000 over 4;
  dislike rate of D's responses = 2 dislikes / 5 thumbs = 0.4 (the 20 % alert fires).
* paywall shown on D to A (10:00), B (20:00) and C; A attempts a purchase on D, B on D+1, X
  (never shown one) on D: ctr_paywall = 1/3 (X must not count). A buys on D+1 at 09:00 (23 h),
  B on D+1 at 21:00 (25 h), X on D: paywall_purchase_24h = 1/3.
* trials on D: A, B, C; A and B buy later: trial_conversion_rate = 2/3.
* signups on D: F, G; F completes onboarding, H completes it without a signup: 1/2.
* D+2: E is shown a paywall and never attempts or buys: ctr 0 and purchase-in-24 h 0, both
  alerts fire on D+2; D+1 has no denominators at all: every alert is "no data" there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import psycopg
import pytest

from everreach.accounts.tokens import TokenCodec
from everreach.plan import load_plan
from everreach.platform.migrations import scratch_database
from everreach.platform.settings import Settings
from everreach_dagster.definitions import AssetGraph, build_assets
from everreach_dagster.resources import DatabaseResource, DatasetStorageResource, s3_resource
from everreach_dagster.sensors.alerts import alert_sensors
from tests.conftest import make_settings
from tests.dagster_support import latest_materialization, postgres_instance
from tests.forwarding_support import Receiver, Reply, first_then
from tests.helpers import bearer, new_id

D = date(2026, 5, 12)
DAYS = [D, D + timedelta(days=1), D + timedelta(days=2)]
OLD_DAY = D - timedelta(days=5)
LABELS = dg.AssetKey("label_metrics")
USERS = {name: new_id() for name in ("writer", "a", "b", "c", "x", "e", "f", "g", "h")}

# (label, segment) -> (value, numerator, denominator) on day D
EXPECTED_D = {
    ("helpful", ""): (0.5, 1, 2),
    ("copy_rate", ""): (0.75, 3, 4),
    ("copy_rate", "gpt-4o-mini"): (0.5, 1, 2),
    ("copy_rate", "claude-3-haiku"): (1.0, 2, 2),
    ("dwell_ms", ""): (6000.0, None, 4),
    ("ctr_paywall", ""): (1 / 3, 1, 3),
    ("paywall_purchase_24h", ""): (1 / 3, 1, 3),
    ("trial_conversion_rate", ""): (2 / 3, 2, 3),
    ("onboarding_completion_rate", ""): (0.5, 1, 2),
}
VERDICTS = {
    D: {
        "trial_conversion_at_least_10pct": "ok",
        "dislike_rate_at_most_20pct": "breached",
        "paywall_ctr_at_least_25pct": "ok",
        "paywall_purchase_within_24h": "ok",
    },
    D + timedelta(days=1): {
        "trial_conversion_at_least_10pct": "no_data",
        "dislike_rate_at_most_20pct": "no_data",
        "paywall_ctr_at_least_25pct": "no_data",
        "paywall_purchase_within_24h": "no_data",
    },
    D + timedelta(days=2): {
        "trial_conversion_at_least_10pct": "no_data",
        "dislike_rate_at_most_20pct": "no_data",
        "paywall_ctr_at_least_25pct": "breached",
        "paywall_purchase_within_24h": "breached",
    },
}


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC).isoformat()


@dataclass
class Traffic:
    client: httpx.Client
    tokens: TokenCodec

    def send(self, user: str, *events: tuple[str, dict[str, Any], str]) -> None:
        body = {
            "batch": [
                {"name": name, "props": props, "event_id": new_id(), "timestamp": when}
                for name, props, when in events
            ]
        }
        r = self.client.post("/v1/ingest", json=body, headers=bearer(self.tokens, user))
        assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


def response_events(
    prompt: str, response: str, model: str, when: str
) -> list[tuple[str, dict[str, Any], str]]:
    return [
        ("prompt_submitted", {"prompt_id": prompt, "text": "Draft a note", "model": model}, when),
        (
            "ai_response_generated",
            {"response_id": response, "prompt_id": prompt, "model": model, "text": "Hi!"},
            when,
        ),
    ]


def send_traffic(t: Traffic) -> None:
    d, d1, d2 = DAYS
    r1, r2, r3, r4, r9 = (new_id() for _ in range(5))
    t.send(
        USERS["writer"],
        *response_events(new_id(), r9, "gpt-4o-mini", at(d - timedelta(days=1), 9)),
        *response_events(new_id(), r1, "gpt-4o-mini", at(d, 9)),
        *response_events(new_id(), r2, "gpt-4o-mini", at(d, 9)),
        *response_events(new_id(), r3, "claude-3-haiku", at(d, 9)),
        *response_events(new_id(), r4, "claude-3-haiku", at(d, 9)),
        ("response_rendered", {"response_id": r1}, at(d, 10)),
        ("response_liked", {"response_id": r1}, at(d, 10, 0, 2)),
        ("response_liked", {"response_id": r1}, at(d, 10, 0, 3)),
        ("response_liked", {"response_id": r1}, at(d, 10, 0, 4)),
        ("response_disliked", {"response_id": r1}, at(d, 10, 0, 5)),
        ("response_copied", {"response_id": r1}, at(d, 10, 0, 5)),
        ("response_rendered", {"response_id": r2}, at(d, 11)),
        ("response_disliked", {"response_id": r2}, at(d, 11, 0, 10)),
        ("response_rendered", {"response_id": r3}, at(d, 12)),
        ("response_copied", {"response_id": r3}, at(d1, 12)),
        ("response_rendered", {"response_id": r4}, at(d, 13)),
        ("response_copied", {"response_id": r4}, at(d, 13, 0, 1)),
        ("response_copied", {"response_id": r9}, at(d, 14)),
    )
    paywall = {"placement": "ai_limit"}
    product = {"product_id": "pro_monthly"}
    trial = {"plan": "pro"}
    t.send(
        USERS["a"],
        ("paywall_shown", paywall, at(d, 10)),
        ("trial_started", trial, at(d, 10, 1)),
        ("purchase_attempted", product, at(d, 10, 5)),
        ("purchase_succeeded", product, at(d1, 9)),
    )
    t.send(
        USERS["b"],
        ("paywall_shown", paywall, at(d, 20)),
        ("trial_started", trial, at(d, 20, 1)),
        ("purchase_attempted", product, at(d1, 8)),
        ("purchase_succeeded", product, at(d1, 21)),
    )
    t.send(USERS["c"], ("paywall_shown", paywall, at(d, 11)), ("trial_started", trial, at(d, 11)))
    t.send(
        USERS["x"],
        ("purchase_attempted", product, at(d, 15)),
        ("purchase_succeeded", product, at(d, 15, 1)),
    )
    t.send(USERS["e"], ("paywall_shown", paywall, at(d2, 9)))
    t.send(
        USERS["f"],
        ("signup_completed", {"method": "email", "user_id": USERS["f"]}, at(d, 8)),
        ("onboarding_completed", {}, at(d, 8, 10)),
    )
    t.send(USERS["g"], ("signup_completed", {"method": "apple", "user_id": USERS["g"]}, at(d, 8)))
    t.send(USERS["h"], ("onboarding_completed", {}, at(d, 9)))


@dataclass
class World:
    database_url: str
    graph: AssetGraph
    resources: dict[str, Any]
    instance: dg.DagsterInstance

    def materialize(self, first: date, last: date) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            self.graph.daily,
            resources=self.resources,
            instance=self.instance,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
        )

    def query(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(statement, args).fetchall()

    def verdicts(self) -> dict[date, dict[str, str]]:
        out: dict[date, dict[str, str]] = {}
        for day, alert, status in self.query(
            "SELECT day, alert, status FROM analytics.alert_verdicts"
        ):
            out.setdefault(day, {})[alert] = status
        return out


@pytest.fixture(scope="module")
def world(
    pg_server_url: str, start_api, tmp_path_factory: pytest.TempPathFactory, tokens: TokenCodec
) -> Iterator[World]:
    home = tmp_path_factory.mktemp("labels-home")
    with scratch_database(pg_server_url, "everreach_labels") as url:
        settings = make_settings(home, url, rate_limit_events=1_000_000)
        from api.app import create_app
        from api.server import serve_in_thread

        with (
            serve_in_thread(create_app(settings, url)) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            send_traffic(Traffic(client, tokens))
        graph = build_assets(settings)
        resources = {
            "database": DatabaseResource(url=url),
            "datasets": DatasetStorageResource(
                root=str(home / "datasets"), s3=s3_resource(settings)
            ),
        }
        with postgres_instance(pg_server_url, home / "instance") as instance:
            w = World(url, graph, resources, instance)
            assert dg.materialize(
                graph.unpartitioned, resources=resources, instance=instance
            ).success
            assert w.materialize(DAYS[0], DAYS[-1]).success
            yield w


def test_every_label_has_its_hand_computed_value(world: World) -> None:
    rows = world.query(
        "SELECT label, segment, value, numerator, denominator FROM analytics.label_metrics "
        "WHERE day = %s",
        D,
    )
    got = {(label, segment): (value, num, den) for label, segment, value, num, den in rows}
    assert {label for label, _ in EXPECTED_D} == set(load_plan().labels)  # every label
    assert set(got) == set(EXPECTED_D)
    for key, (value, numerator, denominator) in EXPECTED_D.items():
        assert got[key][0] == pytest.approx(value), key
        assert got[key][1] == (pytest.approx(numerator) if numerator is not None else None), key
        assert got[key][2] == denominator, key


def test_a_ratio_never_counts_keys_outside_its_denominator(world: World) -> None:
    rows = world.query(
        "SELECT day, label, numerator, denominator, value FROM analytics.label_metrics "
        "WHERE kind = 'ratio'"
    )
    assert rows
    for day, label, numerator, denominator, value in rows:
        assert numerator <= denominator, (day, label)
        assert value is None or 0 <= value <= 1, (day, label)


def test_alerts_are_judged_per_day_and_shown_on_each_days_materialization(world: World) -> None:
    assert world.verdicts() == VERDICTS
    for day, verdicts in VERDICTS.items():
        metadata = latest_materialization(world.instance, LABELS, day.isoformat()).metadata
        fired = sorted(alert for alert, status in verdicts.items() if status == "breached")
        assert metadata["alerts_fired"].value == (", ".join(fired) or "none"), day
        assert "no data" in metadata["alerts"].value or fired, day


def test_backfilling_an_old_empty_day_changes_only_that_days_verdict(world: World) -> None:
    result = world.materialize(OLD_DAY, OLD_DAY)
    assert result.success
    verdicts = world.verdicts()
    assert verdicts.pop(OLD_DAY) == dict.fromkeys(VERDICTS[D], "no_data")
    assert verdicts == VERDICTS
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    dislike = checks["dislike_rate_at_most_20pct"]
    assert not dislike.passed  # D still breaches: the empty day does not hide it
    assert dislike.metadata["days_breached"].value == D.isoformat()
    assert checks["paywall_purchase_within_24h"].metadata["days_breached"].value == str(DAYS[2])
    # a day without data is never "passed": trial conversion had data on D only, and was ok
    assert checks["trial_conversion_at_least_10pct"].passed
    assert (
        OLD_DAY.isoformat()
        in checks["trial_conversion_at_least_10pct"].metadata["days_without_data"].value
    )


def test_an_alert_with_no_data_on_any_day_is_not_passed(pg_server_url: str, tmp_path: Path) -> None:
    with scratch_database(pg_server_url, "everreach_empty") as url:
        settings = make_settings(tmp_path, url)
        resources = {
            "database": DatabaseResource(url=url),
            "datasets": DatasetStorageResource(
                root=str(tmp_path / "datasets"), s3=s3_resource(settings)
            ),
        }
        with postgres_instance(pg_server_url, tmp_path / "instance") as instance:
            graph = build_assets(settings)
            assert dg.materialize(
                graph.unpartitioned, resources=resources, instance=instance
            ).success
            result = dg.materialize(
                graph.daily, resources=resources, instance=instance, partition_key=str(D)
            )
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.asset_key == LABELS:
                assert not evaluation.passed, evaluation.check_name
                assert evaluation.metadata["status"].value == "no data"


def _sensors(settings: Settings) -> dict[str, dg.SensorDefinition]:
    """The sensors as a fresh code location builds them (a new process after a restart)."""
    return {s.name: s for s in alert_sensors(settings)}


def test_alert_sensor_sends_one_message_per_breached_day_and_never_again(
    world: World, tmp_path: Path
) -> None:
    """A real webhook server on 127.0.0.1 gets one message per breached (day, alert), and mail
    goes through the file backend; a second tick of a rebuilt sensor (a daemon restart) sends
    nothing, because what was sent is kept in Postgres; a failed send is retried."""
    resources = {"database": DatabaseResource(url=world.database_url)}
    failing_then_ok = first_then([Reply(status=500)])
    with Receiver(failing_then_ok) as webhook:
        settings = make_settings(
            tmp_path, world.database_url, alert_webhook_url=webhook.url, alert_email="ops@x.test"
        )
        sensor = _sensors(settings)["alert_notifications"]
        with (
            dg.build_sensor_context(instance=world.instance, resources=resources) as context,
            pytest.raises(httpx.HTTPStatusError),
        ):
            sensor(context)  # the webhook answers 500 once: nothing is marked as sent
        for _restart in range(2):
            sensor = _sensors(settings)["alert_notifications"]
            with dg.build_sensor_context(instance=world.instance, resources=resources) as ctx:
                sensor(ctx)
        texts = sorted(r.json()["text"] for r in webhook.accepted())
    assert len(texts) == 3, texts
    assert "dislike_rate_at_most_20pct fired for 2026-05-12" in texts[0]
    assert "paywall_ctr_at_least_25pct fired for 2026-05-14" in texts[1]
    assert "paywall_purchase_within_24h fired for 2026-05-14" in texts[2]
    mails = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(mails) == 3
    assert "paywall_purchase_within_24h" in "".join(m.read_text() for m in mails)


def test_run_failure_sensor_tells_once_per_failed_run(world: World, tmp_path: Path) -> None:
    @dg.asset(name="always_fails")
    def always_fails() -> None:
        raise RuntimeError("the source is gone")

    failed = dg.materialize([always_fails], instance=world.instance, raise_on_error=False)
    assert not failed.success
    run = world.instance.get_run_by_id(failed.run_id)
    failure = next(e for e in failed.all_events if e.event_type_value == "PIPELINE_FAILURE")
    resources = {"database": DatabaseResource(url=world.database_url)}
    with Receiver() as webhook:
        settings = make_settings(tmp_path, world.database_url, alert_webhook_url=webhook.url)
        for _restart in range(2):
            sensor = _sensors(settings)["run_failure_notifications"]
            with dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_event=failure,
                dagster_instance=world.instance,
                dagster_run=run,
                resources=resources,
            ) as context:
                sensor(context.for_run_failure())
        (message,) = webhook.accepted()
    assert failed.run_id in message.json()["text"]

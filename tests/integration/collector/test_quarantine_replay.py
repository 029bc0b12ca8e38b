"""Recovering quarantined events: after the tracking plan is fixed, the events it refused are
replayed through the collector's own pipeline (real API, Postgres, the Dagster job and the CLI),
and the late-data sensor rebuilds the dataset day they belong to.

The plan at ingest time does not know `address_book_imported`; the fixed plan adds it with a
required `source`. Three events carry a source and move to app_events; one lacks it and stays,
its reason now `missing_property` instead of `unknown_event`; an enum violation the fix does not
touch stays as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from api.app import create_app
from api.server import serve_in_thread
from everreach.accounts.tokens import TokenCodec
from everreach.platform.migrations import scratch_database
from tests.conftest import TEST_JWT_SECRET, make_settings
from tests.forwarding_support import Receiver
from tests.helpers import api_env, bearer, new_id, prompt_props, response_props
from tests.privacy_support import DagsterHarness, dated, past_day, send, table_counts

PLAN = Path(__file__).resolve().parents[3] / "analytics" / "events.yml"
DAY = past_day(3)
FIXED_EVENT = """\
  address_book_imported:
    category: onboarding
    description: Contacts were imported from the address book.
    pre_auth: false
    properties:
      source:
        type: string
        required: true
        description: Where the contact came from.

"""


def fixed_plan(folder: Path) -> Path:
    """The tracking plan with `address_book_imported` added."""
    text = PLAN.read_text(encoding="utf-8")
    path = folder / "events.yml"
    path.write_text(text.replace("\nevents:\n", "\nevents:\n" + FIXED_EVENT, 1), encoding="utf-8")
    return path


def cli(database_url: str, home: Path, plan: Path, *args: str) -> str:
    env = {**os.environ, **api_env(database_url, home, EVERREACH_TRACKING_PLAN=str(plan))}
    result = subprocess.run(
        [sys.executable, "-m", "everreach_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def world(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    with scratch_database(pg_server_url, "everreach_replay") as url, Receiver() as posthog:
        home = tmp_path_factory.mktemp("replay-home")
        settings = make_settings(home, url, rate_limit_events=1_000_000)
        fixed = make_settings(
            home,
            url,
            tracking_plan=fixed_plan(home),
            posthog_api_key="phc_replay",
            posthog_host=posthog.url,
        )
        with (
            serve_in_thread(create_app(settings, url)) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as api,
        ):
            yield api, url, home, fixed


def quarantine(database_url: str) -> dict[str, list[str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_id::text, reasons FROM quarantined_events ORDER BY id"
        ).fetchall()
    return {event_id: [r["code"] for r in reasons] for event_id, reasons in rows}


def test_replay_moves_what_the_fixed_plan_accepts_and_the_day_catches_up(world) -> None:
    api, url, home, fixed = world
    tokens = TokenCodec(TEST_JWT_SECRET)
    user = bearer(tokens, new_id())
    prompt = prompt_props()
    send(
        api,
        [
            dated("prompt_submitted", DAY, 9, prompt),
            dated("ai_response_generated", DAY, 9, response_props(prompt["prompt_id"])),
        ],
        user,
    )
    imported = [dated("address_book_imported", DAY, 10 + n, {"source": "phone"}) for n in range(3)]
    sourceless = dated("address_book_imported", DAY, 14, {})
    fax = dated("signup_started", DAY, 15, {"method": "fax"}, anonymous_id="device-fax")
    assert send(api, [*imported, sourceless, fax], user)["quarantined"] == 5
    harness = DagsterHarness(fixed, url, home / "datasets")
    harness.build([DAY])
    assert not harness.tick("late_data_freshness").run_requests  # built after every arrival

    status = cli(url, home, fixed.tracking_plan, "quarantine", "status")
    assert (
        "address_book_imported" in status and "unknown_event" in status and "not_in_enum" in status
    )
    counts = table_counts(url)
    dry = cli(url, home, fixed.tracking_plan, "quarantine", "replay", "--dry-run")
    assert "would move         3  address_book_imported" in dry, dry
    assert table_counts(url) == counts

    replay = harness.definitions.get_job_def("quarantine_replay").execute_in_process(
        instance=harness.instance
    )
    assert replay.success
    with psycopg.connect(url) as conn:
        moved = conn.execute(
            "SELECT event_id::text FROM app_events WHERE event_name = 'address_book_imported'"
        ).fetchall()
        forwarded = conn.execute(
            "SELECT count(*) FROM outbox WHERE destination = 'posthog' AND event_id = ANY(%s)",
            ([e["event_id"] for e in imported],),
        ).fetchone()[0]
    assert sorted(row[0] for row in moved) == sorted(e["event_id"] for e in imported)
    assert forwarded == 3  # the same pipeline: the outbox rows commit with the events
    assert quarantine(url) == {
        sourceless["event_id"]: ["missing_property"],
        fax["event_id"]: ["not_in_enum"],
    }

    # Twice changes nothing (through the CLI this time).
    counts = table_counts(url)
    reasons = quarantine(url)
    again = cli(url, home, fixed.tracking_plan, "quarantine", "replay")
    assert "examined 2 quarantined event(s)" in again and "moved" not in again, again
    assert table_counts(url) == counts and quarantine(url) == reasons

    # The day the moved events belong to was built before they arrived: the sensor rebuilds it
    # once, then records that it caught up and with how many late rows.
    requests = harness.tick("late_data_freshness").run_requests
    assert [(r.partition_key, r.tags["everreach/late_rows"]) for r in requests] == [
        (DAY.isoformat(), "3")
    ]
    assert not harness.tick("late_data_freshness").run_requests
    harness.run(requests[0], "daily_partitions")
    caught_up = harness.tick("late_data_freshness")
    assert not caught_up.run_requests
    [observation] = caught_up.asset_events
    assert observation.partition == DAY.isoformat()
    assert observation.metadata["late_rows"].value == 3
    assert (
        observation.metadata["caught_up_at"].value > observation.metadata["source_changed_at"].value
    )

"""Forwarding through the outbox: real Postgres, real API, real HTTP receivers on 127.0.0.1.

Timings are shrunk through settings (backoff 50-200 ms, poll 50 ms) so retries happen in
milliseconds; no test asserts how fast anything is, only what arrives and what the outbox says.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY

from everreach_cli.commands import main as cli
from tests.conftest import TEST_JWT_SECRET, make_settings
from tests.forwarding_support import (
    Received,
    Receiver,
    Reply,
    always,
    eventually,
    first_then,
    running_forwarder,
)
from tests.helpers import bearer, event, metric_value, new_id, prompt_props

POSTHOG_KEY = "phc_test_project_key"
WEBHOOK_SECRET = "whsec-test-" + "1" * 24
FAST: dict[str, Any] = {
    "forward_backoff_min_s": 0.05,
    "forward_backoff_max_s": 0.2,
    "forward_poll_interval_s": 0.05,
    "forward_housekeeping_interval_s": 0.1,
    "forward_timeout_s": 2.0,
    "forward_lease_s": 5.0,
}


def destinations(posthog: Receiver | None = None, webhook: Receiver | None = None) -> dict:
    values: dict[str, Any] = {}
    if posthog:
        values |= {"posthog_api_key": POSTHOG_KEY, "posthog_host": posthog.url}
    if webhook:
        values |= {
            "mi_webhook_url": f"{webhook.url}/hooks/everreach",
            "mi_webhook_secret": WEBHOOK_SECRET,
        }
    return values


@pytest.fixture(autouse=True)
def empty_outbox(db: psycopg.Connection[Any]) -> None:
    """Each test sees only its own deliveries (the session database is shared)."""
    db.execute("TRUNCATE outbox")


@pytest.fixture
def worker_settings(tmp_path, database_url):
    return lambda **overrides: make_settings(tmp_path, database_url, **{**FAST, **overrides})


def ingest(api: httpx.Client, count: int) -> list[str]:
    """Send `count` accepted events in one batch; their event_ids."""
    anon = new_id()
    batch = [
        event("message_sent", {"contact_id": f"c{i}", "channel": "sms"}, anonymous_id=anon)
        for i in range(count)
    ]
    response = api.post("/v1/ingest", json={"batch": batch})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == count
    return [e["event_id"] for e in batch]


def posthog_uuids(requests: list[Received]) -> list[str]:
    return [item["uuid"] for request in requests for item in request.json()["batch"]]


def webhook_ids(requests: list[Received]) -> list[str]:
    return [item["event_id"] for request in requests for item in request.json()["events"]]


def statuses(db: psycopg.Connection[Any], destination: str) -> Counter[str]:
    rows = db.execute("SELECT status FROM outbox WHERE destination = %s", (destination,))
    return Counter(status for (status,) in rows.fetchall())


def all_delivered(db: psycopg.Connection[Any], destination: str, count: int) -> bool:
    return statuses(db, destination) == Counter({"delivered": count})


def verify_signature(request: Received) -> bool:
    """The receiver's check, written from the README recipe, not with our own code."""
    timestamp = request.headers["x-everreach-timestamp"]
    expected = hmac.new(
        WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= 300
    return fresh and hmac.compare_digest(f"v1={expected}", request.headers["x-everreach-signature"])


def test_every_accepted_event_reaches_each_destination_exactly_once(start_api, db, tokens):
    user, anon = new_id(), new_id()
    prompt = event("prompt_submitted", prompt_props(text="Write to jane.doe@example.com"))
    message = event("message_sent", {"contact_id": "c1", "channel": "sms"})
    signup = event("signup_started", {"method": "email"}, anonymous_id=anon)
    personless = event("paywall_shown", {"placement": "onboarding"})
    accepted = [prompt, message, signup, personless]
    # forwarder_in_process is on by default: this is what `everreach serve` runs
    with (
        Receiver() as posthog,
        Receiver() as hook,
        start_api(**destinations(posthog, hook), **FAST) as api,
    ):
        before = api.get("/metrics").text
        authed = api.post(
            "/v1/ingest", json={"batch": [prompt, message]}, headers=bearer(tokens, user)
        )
        assert authed.json()["accepted"] == 2
        assert api.post("/v1/ingest", json={"batch": [signup, personless]}).json()["accepted"] == 2
        assert api.post("/v1/ingest", json=signup).json()["duplicates"] == 1
        unplanned = event("no_such_event", {}, anonymous_id=anon)
        assert api.post("/v1/ingest", json=unplanned).json()["quarantined"] == 1
        eventually(lambda: all_delivered(db, "posthog", 4) and all_delivered(db, "webhook", 4))
        after = api.get("/metrics").text
    # the API (and its forwarder) stopped: nothing more can arrive

    ids = sorted(e["event_id"] for e in accepted)
    assert sorted(posthog_uuids(posthog.received)) == ids  # each exactly once, nothing else
    assert sorted(webhook_ids(hook.received)) == ids
    stored = {
        str(row[0]): row[1:]
        for row in db.execute(
            "SELECT event_id, event_name, user_id, anonymous_id, occurred_at, properties, context "
            "FROM app_events WHERE event_id = ANY(%s)",
            ([uuid.UUID(i) for i in ids],),
        ).fetchall()
    }

    for request in posthog.received:
        assert request.path == "/batch/"
        assert request.headers["content-type"] == "application/json"
        body = request.json()
        assert body["api_key"] == POSTHOG_KEY
        for item in body["batch"]:
            name, user_id, anonymous_id, occurred_at, properties, _ = stored[item["uuid"]]
            assert set(item) == {"event", "distinct_id", "properties", "timestamp", "uuid"}
            assert item["event"] == name
            assert datetime.fromisoformat(item["timestamp"]) == occurred_at
            if item["uuid"] == personless["event_id"]:  # no person: sent personless
                assert item["distinct_id"] == personless["event_id"]
                assert item["properties"] == {**properties, "$process_person_profile": False}
            else:
                assert item["distinct_id"] == (user_id or anonymous_id)
                assert item["properties"] == properties
    by_uuid = {item["uuid"]: item for r in posthog.received for item in r.json()["batch"]}
    assert by_uuid[prompt["event_id"]]["distinct_id"] == user
    assert by_uuid[signup["event_id"]]["distinct_id"] == anon
    assert "jane.doe@example.com" not in by_uuid[prompt["event_id"]]["properties"]["text"]

    for request in hook.received:
        assert request.path == "/hooks/everreach"
        assert verify_signature(request)
        for item in request.json()["events"]:
            name, user_id, anonymous_id, occurred_at, properties, context = stored[item["event_id"]]
            assert (item["name"], item["user_id"], item["anonymous_id"]) == (
                name,
                user_id,
                anonymous_id,
            )
            assert datetime.fromisoformat(item["occurred_at"]) == occurred_at
            assert (item["properties"], item["context"]) == (properties, context)
    tampered = Received(0, "", hook.received[0].headers, hook.received[0].body + b" ", 0, 200)
    assert not verify_signature(tampered)

    name = "everreach_forward_sent_total"
    for destination in ("posthog", "webhook"):
        sent = metric_value(after, name, destination=destination) - metric_value(
            before, name, destination=destination
        )
        assert sent == 4


def test_a_destination_failing_with_500_then_recovering_gets_everything(
    start_api, db, database_url, worker_settings
):
    failing = [Reply(500, body=b"upstream down")] * 4
    with Receiver(first_then(failing)) as posthog:
        config = destinations(posthog) | {"forward_batch_size": 10}
        with start_api(**config, forwarder_in_process=False) as api:
            ids = ingest(api, 35)
        with running_forwarder(worker_settings(**config), database_url):
            eventually(lambda: all_delivered(db, "posthog", 35))
    assert [r.status for r in posthog.received[:4]] == [500] * 4
    assert sorted(posthog_uuids(posthog.accepted())) == sorted(ids)  # none lost, none twice
    retried = db.execute(
        "SELECT count(*) FROM outbox WHERE attempts > 1 AND last_error LIKE 'HTTP 500%%'"
    ).fetchone()[0]
    assert retried >= 10


def test_a_destination_that_times_out_is_retried_with_the_same_uuids(
    start_api, db, database_url, worker_settings
):
    slow = Reply(200, delay_s=1.5)  # answers, but after the worker's 0.5 s timeout
    with Receiver(first_then([slow])) as posthog:
        config = destinations(posthog)
        with start_api(**config, forwarder_in_process=False) as api:
            ids = ingest(api, 5)
        with running_forwarder(worker_settings(**config, forward_timeout_s=0.5), database_url):
            eventually(lambda: all_delivered(db, "posthog", 5))
    first, *later = posthog.received
    assert sorted(posthog_uuids([first])) == sorted(ids)  # it got there, but too late to count
    assert sorted(posthog_uuids(later)) == sorted(ids)  # so the batch went again, same uuids
    errors = db.execute("SELECT DISTINCT attempts, last_error FROM outbox").fetchall()
    assert errors == [(2, errors[0][1])] and errors[0][1].startswith("ReadTimeout")


def test_a_429_is_retried_no_sooner_than_retry_after(start_api, db, database_url, worker_settings):
    throttled = Reply(429, headers={"Retry-After": "1"}, body=b"slow down")
    with Receiver(first_then([throttled])) as posthog:
        config = destinations(posthog)
        with start_api(**config, forwarder_in_process=False) as api:
            ids = ingest(api, 3)
        # backoff alone would retry after 50-100 ms; Retry-After asks for a second
        with running_forwarder(worker_settings(**config), database_url):
            eventually(lambda: all_delivered(db, "posthog", 3))
    first, second = posthog.received
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0
    assert sorted(posthog_uuids([second])) == sorted(ids)


def test_a_400_goes_to_the_dead_letter_at_once_and_redrive_delivers_it(
    start_api, db, database_url, worker_settings
):
    refusal = b'{"type": "validation_error", "code": "invalid_payload"}'
    rejected = Reply(400, body=refusal)
    env = {"EVERREACH_DATABASE_URL": database_url, "EVERREACH_HOME": str(worker_settings().home)}
    with Receiver(first_then([rejected])) as posthog, Receiver(always(rejected)) as hook:
        config = destinations(posthog, hook)
        with start_api(**config, forwarder_in_process=False) as api:
            ids = ingest(api, 4)
        with running_forwarder(worker_settings(**config), database_url):
            eventually(lambda: statuses(db, "posthog") == Counter({"dead": 4}))
            eventually(lambda: statuses(db, "webhook") == Counter({"dead": 4}))
            rows = db.execute("SELECT DISTINCT attempts, last_error FROM outbox").fetchall()
            assert rows == [
                (1, 'HTTP 400: {"type": "validation_error", "code": "invalid_payload"}')
            ]
            status = CliRunner().invoke(cli, ["outbox", "status"], env=env)
            assert status.exit_code == 0, status.output
            lines = {line.split()[0]: line.split() for line in status.output.splitlines()}
            assert lines["posthog"][1:6] == ["0", "0", "0", "4", "0"]  # pending..delivered

            redrive = CliRunner().invoke(
                cli, ["outbox", "redrive", "--destination", "posthog"], env=env
            )
            assert redrive.exit_code == 0, redrive.output
            assert "requeued 4" in redrive.output
            eventually(lambda: all_delivered(db, "posthog", 4))
        assert statuses(db, "webhook") == Counter({"dead": 4})  # only the named destination
    assert [r.status for r in posthog.received] == [400, 200]  # dead rows are not retried
    assert sorted(posthog_uuids(posthog.accepted())) == sorted(ids)
    assert len(hook.received) == 1


def test_retries_stop_at_the_end_of_the_window(start_api, db, database_url, worker_settings):
    with Receiver(always(Reply(503, body=b"maintenance"))) as posthog:
        config = destinations(posthog)
        with start_api(**config, forwarder_in_process=False) as api:
            ingest(api, 2)
        settings = worker_settings(**config, forward_retry_window_s=0.5)
        with running_forwarder(settings, database_url):
            eventually(lambda: statuses(db, "posthog") == Counter({"dead": 2}))
    assert len(posthog.received) >= 2
    (error,) = {row[0] for row in db.execute("SELECT last_error FROM outbox").fetchall()}
    assert error == "retry window over: HTTP 503: maintenance"


def test_two_workers_deliver_each_row_once(start_api, db, database_url, worker_settings):
    with Receiver(always(Reply(200, delay_s=0.01))) as posthog:
        config = destinations(posthog) | {"forward_batch_size": 7}
        with start_api(**config, forwarder_in_process=False) as api:
            ids = ingest(api, 150) + ingest(api, 150)
        settings = worker_settings(**config)
        with running_forwarder(settings, database_url), running_forwarder(settings, database_url):
            eventually(lambda: all_delivered(db, "posthog", 300))
    received = posthog_uuids(posthog.received)
    assert len(received) == 300 and sorted(received) == sorted(ids)


def test_rows_of_a_worker_killed_mid_batch_are_sent_again(
    start_api, db, database_url, worker_settings
):
    gate = threading.Event()
    with Receiver(first_then([Reply(200, gate=gate)])) as posthog:
        config = destinations(posthog)
        with start_api(**config, forwarder_in_process=False) as api:
            ids = ingest(api, 6)
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("EVERREACH_", "POSTHOG_", "MI_WEBHOOK_"))
        }
        env = {
            **inherited,
            "EVERREACH_DATABASE_URL": database_url,
            "EVERREACH_HOME": str(worker_settings().home),
            "EVERREACH_JWT_SECRET": TEST_JWT_SECRET,
            "POSTHOG_API_KEY": POSTHOG_KEY,
            "POSTHOG_HOST": posthog.url,
            "EVERREACH_FORWARD_TIMEOUT_S": "3",  # the kill comes well before this
            "EVERREACH_FORWARD_LEASE_S": "4.5",
        }
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("everreach")), "forwarder"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            posthog.wait_for(lambda received: len(received) == 1)  # held by the receiver
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        gate.set()
        claimed = db.execute(
            "SELECT DISTINCT status, attempts, last_error, lease_id IS NOT NULL FROM outbox"
        ).fetchall()
        assert claimed == [("pending", 1, None, True)]  # claimed, never recorded
        with running_forwarder(worker_settings(**config), database_url):
            eventually(lambda: all_delivered(db, "posthog", 6))
    held, *after = posthog.received
    assert sorted(posthog_uuids([held])) == sorted(ids)
    assert sorted(posthog_uuids(after)) == sorted(ids)  # at least once: duplicates, same uuids


def test_ingest_succeeds_while_destinations_are_down(start_api, db):
    with Receiver() as gone:
        refused_url = gone.url  # nobody listens there once this block has ended
    gate = threading.Event()  # the webhook takes requests and does not answer until the end
    with Receiver(always(Reply(200, gate=gate))) as hook:
        config = destinations(webhook=hook) | {
            "posthog_api_key": POSTHOG_KEY,
            "posthog_host": refused_url,
        }
        try:
            with start_api(**config, **FAST) as api:  # with the in-process forwarder
                ids = ingest(api, 5)
                hook.wait_for(lambda received: len(received) >= 1)  # the forwarder is stuck
                for _ in range(10):
                    ids += ingest(api, 5)  # each asserts 200 and every event accepted
                stored = db.execute(
                    "SELECT count(*) FROM app_events WHERE event_id = ANY(%s)",
                    ([uuid.UUID(i) for i in ids],),
                ).fetchone()[0]
                assert stored == 55
                eventually(
                    lambda: (
                        db.execute(
                            "SELECT count(*) FROM outbox WHERE destination = 'posthog' "
                            "AND last_error LIKE 'ConnectError%%'"
                        ).fetchone()[0]
                        > 0
                    )
                )
        finally:
            gate.set()
    assert statuses(db, "posthog")["delivered"] == 0
    assert statuses(db, "posthog").total() == statuses(db, "webhook").total() == 55


def test_delivered_rows_are_deleted_after_the_retention_and_pending_age_is_gauged(
    start_api, db, database_url, worker_settings
):
    def oldest_pending(destination: str) -> float | None:
        return REGISTRY.get_sample_value(
            "everreach_forward_oldest_pending_seconds", {"destination": destination}
        )

    with Receiver() as posthog, Receiver(always(Reply(500))) as hook:
        config = destinations(posthog, hook)
        with start_api(**config, forwarder_in_process=False) as api:
            ids = ingest(api, 3)
        with running_forwarder(worker_settings(**config, forward_retention_s=0), database_url):
            eventually(lambda: len(posthog.accepted()) == 1 and not statuses(db, "posthog"))
            eventually(lambda: (oldest_pending("webhook") or 0) > 0)
            eventually(lambda: oldest_pending("posthog") == 0)
    assert sorted(posthog_uuids(posthog.accepted())) == sorted(ids)
    assert statuses(db, "webhook") == Counter({"pending": 3})  # undelivered rows are kept

"""The PostHog and Segment endpoints over real HTTP: recorded SDK requests replayed, skew,
errors as problem details, the shared pipeline (plan, quarantine, rate limit)."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from everreach.collector.sdk_formats.common import event_uuid

FIXTURES = Path(__file__).parents[2] / "fixtures"
POSTHOG_KEY = "phc_fixture_project_key"  # the keys the fixtures were recorded with
SEGMENT_KEY = "fixture_write_key"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def sdk_api(start_api) -> Iterator[httpx.Client]:
    with start_api(
        posthog_project_keys=POSTHOG_KEY,
        segment_write_keys=SEGMENT_KEY,
        rate_limit_events=1_000_000,
    ) as client:
        yield client


def replay(api: httpx.Client, name: str) -> httpx.Response:
    """Send a recorded SDK request again, byte for byte."""
    recorded = json.loads((FIXTURES / name).read_text())
    body = (
        base64.b64decode(recorded["body_base64"])
        if "body_base64" in recorded
        else recorded["body"].encode()
    )
    return api.post(recorded["path"], content=body, headers=recorded["headers"])


def stored(db: psycopg.Connection[Any], table: str, event_id: uuid.UUID) -> tuple[Any, ...]:
    row = db.execute(
        f"SELECT event_name, user_id, anonymous_id, occurred_at, received_at, sent_at, properties "
        f"FROM {table} WHERE event_id = %s",
        (event_id,),
    ).fetchone()
    assert row is not None, f"{event_id} is not in {table}"
    return row


def expected_time(timestamp: datetime, sent_at: datetime, received_at: datetime) -> datetime:
    """The collector's skew rule (collector.client_time), written out for the assertion."""
    skew = received_at - sent_at
    return timestamp + skew if abs(skew) > timedelta(seconds=300) else timestamp


RECORDED_AT = datetime(2026, 11, 20, 9, 30, 15, 250000, tzinfo=UTC)
USER = "5b3e1f0a-9c2d-4e8f-a1b2-c3d4e5f60718"
ANON = "0190f1d2-3b4c-7d5e-8f60-718293a4b5c6"


def test_recorded_posthog_request_is_stored_and_its_replay_is_a_duplicate(sdk_api, db):
    response = replay(sdk_api, "posthog_batch_request.json")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == 1
    assert (body["accepted"], body["duplicates"], body["quarantined"]) == (4, 0, 0)

    message = stored(db, "app_events", uuid.UUID("0190f1d2-0000-7000-8000-000000000003"))
    name, user_id, anonymous_id, occurred_at, received_at, sent_at, props = message
    assert (name, user_id, anonymous_id) == ("message_sent", USER, None)
    assert occurred_at == expected_time(RECORDED_AT, sent_at, received_at)
    assert props["contact_id"] == "contact-42" and props["$lib"] == "posthog-python"
    identify = stored(db, "sdk_system_events", uuid.UUID("0190f1d2-0000-7000-8000-000000000002"))
    assert identify[:3] == ("$identify", USER, ANON)
    assert db.execute(
        "SELECT source FROM identity_links WHERE anonymous_id = %s AND user_id = %s", (ANON, USER)
    ).fetchone() in [("posthog_identify",), ("segment_identify",)]

    again = replay(sdk_api, "posthog_batch_request.json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 4)


def test_recorded_segment_request_is_stored_and_its_replay_is_a_duplicate(sdk_api, db):
    response = replay(sdk_api, "segment_batch_request.json")
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True

    track_id = event_uuid("segment", "ajs-next-1b2c3d4e5f")  # not a UUID on the wire: uuid5
    name, user_id, anonymous_id, occurred_at, received_at, sent_at, props = stored(
        db, "app_events", track_id
    )
    assert (name, user_id, anonymous_id) == ("message_sent", USER, ANON)
    assert occurred_at == expected_time(RECORDED_AT, sent_at, received_at)
    assert props["channel"] == "email"
    alias = stored(db, "sdk_system_events", uuid.UUID("2d8c3a4e-0000-4000-8000-000000000003"))
    assert alias[:2] == ("alias", USER)
    assert db.execute(
        "SELECT source FROM identity_links WHERE anonymous_id = 'legacy-id-7' AND user_id = %s",
        (USER,),
    ).fetchone() in [("segment_alias",), ("posthog_alias",)]

    again = replay(sdk_api, "segment_batch_request.json").json()
    assert (again["accepted"], again["duplicates"]) == (0, 4)


def test_segment_clock_skew_is_corrected_from_sent_at(sdk_api, db):
    phone_now = datetime.now(UTC) - timedelta(days=2)  # a phone whose clock is two days behind
    message_id = str(uuid.uuid4())
    batch = {
        "sentAt": phone_now.isoformat(),
        "batch": [
            {"type": "track", "event": "signup_started", "anonymousId": "skewed-phone",
             "properties": {"method": "apple"}, "messageId": message_id,
             "timestamp": (phone_now - timedelta(seconds=30)).isoformat()},
        ],
    }  # fmt: skip
    response = sdk_api.post("/v1/batch", json=batch, auth=(SEGMENT_KEY, ""))
    assert response.json()["accepted"] == 1, response.text
    *_, occurred_at, received_at, _, _ = stored(db, "app_events", uuid.UUID(message_id))
    assert occurred_at == received_at - timedelta(seconds=30)


def test_posthog_system_events_are_kept_apart_and_unplanned_events_quarantined(sdk_api, db):
    flag, unplanned = uuid.uuid4(), uuid.uuid4()
    batch = {
        "api_key": POSTHOG_KEY,
        "batch": [
            {"event": "$feature_flag_called", "distinct_id": "u-flags", "uuid": str(flag),
             "properties": {"$feature_flag": "new-paywall", "$feature_flag_response": True}},
            {"event": "totally_unplanned", "distinct_id": "u-flags", "uuid": str(unplanned)},
        ],
    }  # fmt: skip
    body = gzip.compress(json.dumps(batch).encode())
    response = sdk_api.post(
        "/i/v0/e/?compression=gzip-js", content=body, headers={"content-type": "text/plain"}
    )
    statuses = {r["event_id"]: r["status"] for r in response.json()["results"]}
    assert statuses == {str(unplanned): "quarantined", str(flag): "accepted"}
    assert stored(db, "sdk_system_events", flag)[0] == "$feature_flag_called"
    reasons = db.execute(
        "SELECT reasons FROM quarantined_events WHERE event_id = %s", (unplanned,)
    ).fetchone()[0]
    assert [r["code"] for r in reasons] == ["unknown_event"]


@pytest.mark.parametrize("path", ["/batch/", "/e/", "/i/v0/e/", "/capture/", "/batch", "/e"])
def test_every_posthog_capture_path_refuses_an_unknown_key_with_a_401_problem(sdk_api, path):
    response = sdk_api.post(path, json={"api_key": "phc_stranger", "event": "x", "distinct_id": 1})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "invalid_api_key"


@pytest.mark.parametrize("call", ["batch", "track", "identify", "alias", "page", "screen", "group"])
def test_every_segment_call_refuses_an_unknown_write_key_with_segment_fields(sdk_api, call):
    response = sdk_api.post(f"/v1/{call}", json={"batch": []}, auth=("not-a-key", ""))
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "invalid_write_key"
    assert body["message"] == body["detail"]  # Segment's SDKs log `code` and `message`


def test_segment_batch_over_500kb_is_413_and_stores_nothing(sdk_api, db):
    message_id = str(uuid.uuid4())
    batch = [
        {
            "type": "track",
            "event": "signup_started",
            "anonymousId": f"big-{n}",
            "messageId": message_id if n == 0 else str(uuid.uuid4()),
            "properties": {"method": "email", "padding": "x" * 20_000},
        }
        for n in range(30)
    ]  # fmt: skip  (30 messages of ~20 KB: each under 32 KB, the batch over 500 KB)
    response = sdk_api.post("/v1/batch", json={"batch": batch}, auth=(SEGMENT_KEY, ""))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert (
        db.execute("SELECT 1 FROM app_events WHERE event_id = %s", (message_id,)).fetchone() is None
    )


def test_sdk_events_count_against_the_same_rate_limit(start_api, db):
    ids = [str(uuid.uuid4()) for _ in range(6)]
    batch = [
        {"type": "track", "event": "signup_started", "anonymousId": "one-device",
         "messageId": eid, "properties": {"method": "google"}}
        for eid in ids
    ]  # fmt: skip
    with start_api(segment_write_keys=SEGMENT_KEY, rate_limit_events=5) as api:
        response = api.post("/v1/batch", json={"batch": batch}, auth=(SEGMENT_KEY, ""))
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert db.execute(
        "SELECT count(*) FROM app_events WHERE event_id = ANY(%s)", ([uuid.UUID(i) for i in ids],)
    ).fetchone() == (0,)

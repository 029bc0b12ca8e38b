"""Crafted values that once made the collector answer 500: each is now a 4xx problem document
naming the field, on /v1/ingest, the PostHog and the Segment endpoints alike, and stores nothing.

Classes: client times that leave a datetime's range when converted to UTC or shifted by the
clock skew; PostHog's `offset` and `_` out of range; keys that are not strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import new_id

POSTHOG_KEY = "phc_crafted_input_key"
SEGMENT_KEY = "crafted_input_write_key"

EARLIEST_WITH_OFFSET = "0001-01-01T00:00:00+01:00"  # 31 Dec of year 0 in UTC
LATEST_WITH_OFFSET = "9999-12-31T23:59:59-01:00"  # 1 Jan 10000 in UTC
TIMES = [
    pytest.param({"timestamp": EARLIEST_WITH_OFFSET}, "timestamp", id="timestamp-before-year-1"),
    pytest.param({"timestamp": LATEST_WITH_OFFSET}, "timestamp", id="timestamp-after-year-9999"),
    pytest.param({"sent_at": EARLIEST_WITH_OFFSET}, "sent_at", id="sent_at-before-year-1"),
    pytest.param({"sent_at": LATEST_WITH_OFFSET}, "sent_at", id="sent_at-after-year-9999"),
    pytest.param(
        {"timestamp": "0002-01-01T00:00:00Z", "sent_at": "9999-01-01T00:00:00Z"},
        "timestamp",
        id="timestamp-far-before-sent_at",
    ),
    pytest.param(
        {"timestamp": "9998-01-01T00:00:00Z", "sent_at": "0002-01-01T00:00:00Z"},
        "timestamp",
        id="timestamp-far-after-sent_at",
    ),
]


@pytest.fixture(scope="module")
def crafted_api(start_api) -> Iterator[httpx.Client]:
    with start_api(
        posthog_project_keys=POSTHOG_KEY,
        segment_write_keys=SEGMENT_KEY,
        rate_limit_events=1_000_000,
    ) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def ingest_body(anon: str, times: dict[str, str]) -> dict[str, Any]:
    sent_at = times.get("sent_at")
    event = {"name": "signup_started", "props": {"method": "email"}, "anonymous_id": anon}
    if "timestamp" in times:
        event["timestamp"] = times["timestamp"]
    return {"batch": [event], **({"sent_at": sent_at} if sent_at else {})}


def posthog_body(anon: str, times: dict[str, str]) -> dict[str, Any]:
    event = {"event": "signup_started", "distinct_id": anon, "properties": {"method": "email"}}
    if "timestamp" in times:
        event["timestamp"] = times["timestamp"]
    body: dict[str, Any] = {"api_key": POSTHOG_KEY, "batch": [event]}
    if "sent_at" in times:
        body["sent_at"] = times["sent_at"]
    return body


def segment_body(anon: str, times: dict[str, str]) -> dict[str, Any]:
    message = {"type": "track", "event": "signup_started", "anonymousId": anon}
    if "timestamp" in times:
        message["timestamp"] = times["timestamp"]
    body: dict[str, Any] = {"writeKey": SEGMENT_KEY, "batch": [message]}
    if "sent_at" in times:
        body["sentAt"] = times["sent_at"]
    return body


ENDPOINTS: dict[str, tuple[str, Callable[[str, dict[str, str]], dict[str, Any]]]] = {
    "ingest": ("/v1/ingest", ingest_body),
    "posthog": ("/batch/", posthog_body),
    "segment": ("/v1/batch", segment_body),
}


def stored_count(db, anon: str) -> int:
    return db.execute(
        "SELECT (SELECT count(*) FROM app_events WHERE anonymous_id = %(a)s)"
        " + (SELECT count(*) FROM quarantined_events WHERE anonymous_id = %(a)s)",
        {"a": anon},
    ).fetchone()[0]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(("times", "field"), TIMES)
def test_client_times_out_of_range_are_422_naming_the_field(
    crafted_api, db, endpoint, times, field
):
    path, build = ENDPOINTS[endpoint]
    anon = new_id()
    response = crafted_api.post(path, json=build(anon, times))
    body = assert_problem(response, 422, "timestamp_out_of_range")
    assert body["field"] == field and f"`{field}`" in body["detail"]
    assert stored_count(db, anon) == 0


@pytest.mark.parametrize("offset", [-1, -(10**15), 10**15, 2**63 - 1, 10**30])
def test_posthog_offset_out_of_range_is_422_naming_it(crafted_api, offset):
    event = {"event": "signup_started", "distinct_id": new_id(), "offset": offset}
    body = json.dumps({"api_key": POSTHOG_KEY, "batch": [event]})
    response = crafted_api.post(
        "/batch/", content=body, headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 422, "invalid_event")
    assert "$.batch[0].offset" in problem["detail"]


@pytest.mark.parametrize(
    "underscore", ["-5", "9" * 20, "9" * 5000, "\u0661\u0667\u0660\u0660", "1e12", " 1700000000000"]
)
def test_posthog_underscore_query_parameter_out_of_range_is_400_naming_it(crafted_api, underscore):
    event = {"event": "signup_started", "distinct_id": new_id()}
    response = crafted_api.post(
        "/e/", params={"_": underscore}, json={"api_key": POSTHOG_KEY, "batch": [event]}
    )
    problem = assert_problem(response, 400, "invalid_query_parameter")
    assert problem["field"] == "_"


def test_posthog_underscore_in_seconds_is_ignored_and_in_milliseconds_used(crafted_api):
    event = {"event": "signup_started", "distinct_id": new_id(), "properties": {"method": "email"}}
    for underscore in ("1700000000", "1764000000000"):
        response = crafted_api.post(
            "/e/", params={"_": underscore}, json={"api_key": POSTHOG_KEY, "batch": [event]}
        )
        assert response.status_code == 200, response.text


KEYS_NOT_STRINGS = [["phc_a", "phc_b"], {"key": POSTHOG_KEY}, [POSTHOG_KEY], 12345, True]


@pytest.mark.parametrize("key", KEYS_NOT_STRINGS, ids=repr)
@pytest.mark.parametrize("where", ["body", "event", "properties"])
def test_posthog_api_key_that_is_not_a_string_is_401_naming_it(crafted_api, key, where):
    event: dict[str, Any] = {"event": "signup_started", "distinct_id": new_id()}
    body: dict[str, Any] = {"batch": [event]}
    if where == "body":
        body["api_key"] = key
    elif where == "event":
        event["api_key"] = key
    else:
        event["properties"] = {"token": key}
    response = crafted_api.post("/batch/", json=body)
    problem = assert_problem(response, 401, "invalid_api_key")
    assert problem["field"] == "api_key"


@pytest.mark.parametrize("key", KEYS_NOT_STRINGS, ids=repr)
@pytest.mark.parametrize("where", ["body", "message"])
def test_segment_write_key_that_is_not_a_string_is_401_naming_it(crafted_api, key, where):
    message: dict[str, Any] = {"type": "track", "event": "signup_started", "anonymousId": new_id()}
    body: dict[str, Any] = {"batch": [message]}
    (body if where == "body" else message)["writeKey"] = key
    response = crafted_api.post("/v1/batch", json=body)
    problem = assert_problem(response, 401, "invalid_write_key")
    assert problem["field"] == "write_key"

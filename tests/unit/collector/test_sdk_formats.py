"""The PostHog and Segment translators, on requests recorded from the real SDKs and on the
encodings posthog-js uses (built here the way its request.ts builds them)."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from everreach.collector.payload import inflate
from everreach.collector.sdk_formats.common import SDK_ID_NAMESPACE, event_uuid
from everreach.collector.sdk_formats.posthog import CaptureRequest, decode_capture
from everreach.collector.sdk_formats.segment import decode_segment
from everreach.collector.submission import IdentityClaim, Submission
from everreach.platform.problems import ClientFault

FIXTURES = Path(__file__).parents[2] / "fixtures"
POSTHOG_KEY = "phc_fixture_project_key"
SEGMENT_KEY = "fixture_write_key"
ANON = "0190f1d2-3b4c-7d5e-8f60-718293a4b5c6"
USER = "5b3e1f0a-9c2d-4e8f-a1b2-c3d4e5f60718"
AT = datetime(2026, 11, 20, 9, 30, 15, 250000, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LIMITS: dict[str, Any] = {"max_events": 1000, "max_bytes": 1_000_000}


def recorded(name: str) -> tuple[dict[str, Any], bytes]:
    """A fixture request and its body as the SDK sent it."""
    request = json.loads((FIXTURES / name).read_text())
    if "body_base64" in request:
        return request, base64.b64decode(request["body_base64"])
    return request, request["body"].encode()


def capture(body: bytes, content_type: str = "application/json", **query: str) -> Submission:
    return decode_capture(
        CaptureRequest(body=body, content_type=content_type, query=query, received_at=NOW),
        project_keys=f"other_key, {POSTHOG_KEY}",
        **LIMITS,
    )


def by_name(submission: Submission) -> dict[str, Any]:
    return {item.event.name: item for item in submission.events + submission.system_events}


# --- PostHog ---------------------------------------------------------------------------------


def test_posthog_python_recorded_batch_translates_every_event():
    request, raw = recorded("posthog_batch_request.json")
    assert request["path"] == "/batch/" and request["headers"]["content-encoding"] == "gzip"
    body = inflate(raw, request["headers"]["content-encoding"], 1_000_000)
    submission = capture(body, request["headers"]["content-type"])

    assert [e.event.name for e in submission.events] == ["signup_started", "message_sent"]
    assert [e.event.name for e in submission.system_events] == ["$identify", "$create_alias"]
    events = by_name(submission)
    signup, message = events["signup_started"], events["message_sent"]
    assert (signup.user_id, signup.event.anonymous_id) == (None, ANON)  # personless: anonymous
    assert (message.user_id, message.event.anonymous_id) == (USER, None)
    assert signup.event.event_id == uuid.UUID("0190f1d2-0000-7000-8000-000000000001")
    assert message.event.props["contact_id"] == "contact-42"
    assert message.event.props["$lib"] == "posthog-python"
    assert message.event.timestamp == AT
    assert submission.sent_at is not None
    assert events["$create_alias"].user_id == USER
    assert submission.identity_claims == [
        IdentityClaim(ANON, USER, "posthog_identify", events["$identify"].event.event_id),
        IdentityClaim("legacy-id-7", USER, "posthog_alias", events["$create_alias"].event.event_id),
    ]


def js_events(token: str = POSTHOG_KEY) -> list[dict[str, Any]]:
    """Events the way posthog-js sends them: an array, the key in each event's properties."""
    return [
        {
            "event": "$pageview",
            "properties": {"token": token, "distinct_id": ANON, "$is_identified": False},
            "timestamp": AT.isoformat(),
            "uuid": "0190f1d2-0000-7000-8000-0000000000a1",
        },
        {
            "event": "signup_started",
            "properties": {"token": token, "distinct_id": ANON, "$device_id": ANON,
                           "$is_identified": False, "method": "google"},
            "timestamp": AT.isoformat(),
            "uuid": "0190f1d2-0000-7000-8000-0000000000a2",
        },
    ]  # fmt: skip


def assert_js_events(submission: Submission) -> None:
    events = by_name(submission)
    assert set(events) == {"$pageview", "signup_started"}
    signup = events["signup_started"]
    assert (signup.user_id, signup.event.anonymous_id) == (None, ANON)
    assert signup.event.props["method"] == "google"
    assert "token" not in signup.event.props  # the project key is a credential, not data
    assert [e.event.name for e in submission.system_events] == ["$pageview"]


def test_posthog_js_gzip_js_body_sent_as_text_plain():
    body = gzip.compress(json.dumps(js_events()).encode(), mtime=0)
    sent_ms = str(int(NOW.timestamp() * 1000))
    submission = capture(body, "text/plain", compression="gzip-js", _=sent_ms, ver="1.200.0")
    assert_js_events(submission)
    assert submission.sent_at == NOW  # from the `_` query parameter, in milliseconds


def test_posthog_js_base64_form_body():
    data = base64.b64encode(json.dumps(js_events()).encode()).decode()
    body = f"data={quote(data, safe='')}&compression=base64".encode()
    assert_js_events(capture(body, "application/x-www-form-urlencoded"))


def test_posthog_form_body_with_plain_json_data():
    body = f"data={quote(json.dumps(js_events()), safe='')}".encode()
    assert_js_events(capture(body, "application/x-www-form-urlencoded; charset=utf-8"))


def test_posthog_form_body_keeps_non_ascii_text():
    events = js_events()
    events[1]["properties"]["note"] = "café 🎉"
    body = f"data={quote(json.dumps(events, ensure_ascii=False), safe='')}".encode()
    submission = capture(body, "application/x-www-form-urlencoded")
    assert submission.events[0].event.props["note"] == "café 🎉"


def test_posthog_gzip_detected_by_magic_bytes_without_any_hint():
    assert_js_events(capture(gzip.compress(json.dumps(js_events()).encode()), "text/plain"))


def test_posthog_bare_base64_body_on_legacy_endpoint():
    assert_js_events(capture(base64.b64encode(json.dumps(js_events()).encode()), "text/plain"))


def test_posthog_single_capture_event_with_offset_and_set():
    body = json.dumps(
        {
            "api_key": POSTHOG_KEY,
            "event": "message_sent",
            "distinct_id": 12345,
            "properties": {"contact_id": "c1", "channel": "sms"},
            "offset": 1500,
            "$set": {"plan": "pro"},
        }
    ).encode()
    (item,) = capture(body).events
    assert item.user_id == "12345"  # numeric distinct ids become text
    assert item.event.timestamp == NOW - timedelta(milliseconds=1500)
    assert item.event.props["$set"] == {"plan": "pro"}


def test_posthog_non_uuid_event_id_becomes_a_stable_uuid5():
    body = json.dumps(
        {
            "api_key": POSTHOG_KEY,
            "batch": [{"event": "$pageview", "distinct_id": "u", "uuid": "x1"}],
        }
    ).encode()
    first, second = capture(body), capture(body)
    expected = uuid.uuid5(SDK_ID_NAMESPACE, "posthog:x1")
    assert first.system_events[0].event.event_id == expected
    assert second.system_events[0].event.event_id == expected
    assert event_uuid("segment", "x1") != expected  # ids of different SDKs never collide


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"api_key": "phc_x", "batch": [{"event": "e", "distinct_id": "u"}]}, "invalid_api_key"),
        ({"batch": [{"event": "e", "distinct_id": "u"}]}, "missing_api_key"),
        ([{"event": "e", "properties": {"token": POSTHOG_KEY}}, {"event": "e"}], "missing_api_key"),
    ],
)  # fmt: skip
def test_posthog_unknown_or_missing_project_key_is_401(body, code):
    with pytest.raises(ClientFault) as fault:
        capture(json.dumps(body).encode())
    assert (fault.value.status, fault.value.code) == (401, code)


def test_posthog_no_configured_keys_says_which_setting_to_set():
    with pytest.raises(ClientFault) as fault:
        decode_capture(
            CaptureRequest(b'{"api_key": "k", "event": "e"}', "application/json", {}, NOW),
            project_keys="",
            **LIMITS,
        )
    assert fault.value.status == 401 and "EVERREACH_POSTHOG_PROJECT_KEYS" in fault.value.detail


@pytest.mark.parametrize(
    ("body", "content_type", "query", "status", "code"),
    [
        (b"N4Ig", "text/plain", {"compression": "lz64"}, 415, "unsupported_compression"),
        (b"data=%%%", "application/x-www-form-urlencoded", {}, 400, "malformed_encoding"),
        (b"compression=base64", "application/x-www-form-urlencoded", {}, 400, "missing_data"),
        (b'{"api_key": "k", "distinct_id": "u"}', "application/json", {}, 422, "invalid_body"),
        (b'{"api_key": "k", "batch": []}', "application/json", {}, 422, "empty_batch"),
    ],
)
def test_posthog_malformed_requests_get_precise_faults(body, content_type, query, status, code):
    with pytest.raises(ClientFault) as fault:
        capture(body, content_type, **query)
    assert (fault.value.status, fault.value.code) == (status, code)


def test_posthog_event_type_error_names_its_json_path():
    body = {"api_key": POSTHOG_KEY, "batch": [{"event": "e"}, {"event": "e", "properties": 3}]}
    with pytest.raises(ClientFault) as fault:
        capture(json.dumps(body).encode())
    assert fault.value.status == 422 and "$.batch[1].properties" in fault.value.detail


# --- Segment ---------------------------------------------------------------------------------


def segment(body: Any, call: str = "batch", authorization: str | None = None) -> Submission:
    return decode_segment(
        json.dumps(body).encode(),
        call,
        authorization=authorization,
        write_keys=SEGMENT_KEY,
        max_events=1000,
        max_event_bytes=32 * 1024,
    )


def test_segment_python_recorded_batch_translates_every_message():
    request, body = recorded("segment_batch_request.json")
    assert request["path"] == "/v1/batch"
    submission = decode_segment(
        body,
        "batch",
        authorization=request["headers"]["authorization"],
        write_keys=SEGMENT_KEY,
        max_events=1000,
        max_event_bytes=32 * 1024,
    )
    (track,) = submission.events
    assert track.event.name == "message_sent"
    assert (track.user_id, track.event.anonymous_id) == (USER, ANON)
    assert track.event.props == {
        "contact_id": "contact-42",
        "channel": "email",
        "$lib": "analytics-python",
        "$lib_version": request["headers"]["user-agent"].split("/")[1],
    }
    assert track.event.timestamp == AT
    assert track.event.event_id == uuid.uuid5(SDK_ID_NAMESPACE, "segment:ajs-next-1b2c3d4e5f")
    assert [e.event.name for e in submission.system_events] == ["identify", "alias", "page"]
    system = by_name(submission)
    assert system["identify"].event.props["plan"] == "pro"
    assert system["page"].event.props == {**system["page"].event.props, "name": "Home"}
    assert submission.identity_claims == [
        IdentityClaim(ANON, USER, "segment_identify", system["identify"].event.event_id),
        IdentityClaim("legacy-id-7", USER, "segment_alias", system["alias"].event.event_id),
    ]


def test_segment_write_key_in_the_body_and_a_single_call():
    submission = segment(
        {"writeKey": SEGMENT_KEY, "userId": "u1", "event": "message_sent", "messageId": "m1",
         "properties": {"contact_id": "c", "channel": "sms"},
         "context": {"os": {"name": "iOS"}, "app": {"build": "512"},
                     "device": {"model": "iPhone15,2"}}},
        call="track",
    )  # fmt: skip
    (item,) = submission.events
    assert (item.event.platform, item.event.app_build, item.event.device_model) == (
        "iOS",
        "512",
        "iPhone15,2",
    )


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "body", "code"),
    [
        (basic("wrong"), {"batch": [{"type": "track", "event": "e"}]}, "invalid_write_key"),
        (None, {"batch": [{"type": "track", "event": "e"}]}, "missing_write_key"),
        ("Basic %%%", {"batch": [{"type": "track", "event": "e"}]}, "invalid_write_key"),
    ],
)
def test_segment_unknown_or_missing_write_key_is_401(authorization, body, code):
    with pytest.raises(ClientFault) as fault:
        segment(body, authorization=authorization)
    assert (fault.value.status, fault.value.code) == (401, code)


def test_segment_message_over_32kb_is_413_naming_it():
    big = {"type": "track", "event": "e", "userId": "u", "properties": {"blob": "x" * 33_000}}
    body = {"writeKey": SEGMENT_KEY, "batch": [{"type": "track", "event": "e"}, big]}
    with pytest.raises(ClientFault) as fault:
        segment(body)
    assert (fault.value.status, fault.value.code) == (413, "event_too_large")
    assert "$.batch[1]" in fault.value.detail


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"writeKey": SEGMENT_KEY, "batch": [{"type": "track", "userId": "u"}]}, "invalid_event"),
        ({"writeKey": SEGMENT_KEY, "batch": [{"type": "launch"}]}, "invalid_event"),
        ({"writeKey": SEGMENT_KEY, "batch": {"type": "track"}}, "invalid_body"),
        ({"writeKey": SEGMENT_KEY, "batch": []}, "empty_batch"),
    ],
)
def test_segment_malformed_messages_are_422(body, code):
    with pytest.raises(ClientFault) as fault:
        segment(body)
    assert (fault.value.status, fault.value.code) == (422, code)

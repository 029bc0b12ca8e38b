"""Hypothesis strategies for hostile requests to every endpoint: each field of each body and
query replaced by a value of any JSON type, out of range, in Unicode digits, or at an extreme.

`tests/integration/platform/test_no_server_errors.py` runs a few examples per endpoint in
`make test`; `tests/reliability/test_no_server_errors_long.py` runs many more (slow).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

POSTHOG_KEY = "phc_property_test_key"
SEGMENT_KEY = "property_test_write_key"

EXTREME_INTS = [0, -1, 1, 2**31, -(2**31), 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 10**30, -(10**30)]
TIMES = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "2026-02-30T00:00:00Z",
    "2026-11-25T10:00:00+23:59",
    "10000-01-01T00:00:00Z",
    "1970-01-01",
    "-0001-01-01T00:00:00Z",
]
UNICODE_DIGITS = ["\u00b2", "\u2460", "\u0663", "\uff17", "\u07c1", "\U0001d7d7", "\u0661\u0660"]
AWKWARD_TEXT = ["", " ", "\x00", "9" * 5000, "-1", "1e309", "NaN", "null", "../../etc/passwd"]

digit_text = st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=8)
texts = st.one_of(
    st.sampled_from(TIMES + UNICODE_DIGITS + AWKWARD_TEXT),
    digit_text,
    st.text(max_size=30),
    st.integers(-(2**70), 2**70).map(str),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(EXTREME_INTS),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
# Half of the draws come from the edges that broke things before: times out of range, Unicode
# digits, huge numbers, containers where text belongs.
EDGES = [*TIMES, *UNICODE_DIGITS, *AWKWARD_TEXT, *EXTREME_INTS, None, True, [], {}, ["a"], {"a": 1}]
json_values = st.one_of(
    st.sampled_from(EDGES),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=6,
    ),
)
query_values = st.one_of(st.sampled_from([*TIMES, *UNICODE_DIGITS, *AWKWARD_TEXT]), texts)

# What a field holds decides which edges it meets most: times, numbers, credentials.
_TIME_FIELDS = {"timestamp", "sent_at", "sentAt", "originalTimestamp"}
_NUMBER_FIELDS = {"offset", "days", "limit", "_", "ver"}
_KEY_FIELDS = {"api_key", "token", "writeKey", "password", "email", "cursor"}
_NUMBERS = [*EXTREME_INTS, *UNICODE_DIGITS, "9" * 5000, -(10**15), 10**15]
_NOT_TEXT = [["k"], {"k": "v"}, [], {}, 0, True, None, 1.5]


def values_for(name: str, base: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`base`, or half the time an edge for the kind of field `name` is."""
    if name in _TIME_FIELDS:
        return st.one_of(st.sampled_from(TIMES), base)
    if name in _NUMBER_FIELDS:
        numbers = st.sampled_from(_NUMBERS)
        return st.one_of(numbers if base is json_values else numbers.map(str), base)
    if name in _KEY_FIELDS:
        return st.one_of(st.sampled_from(_NOT_TEXT if base is json_values else AWKWARD_TEXT), base)
    return base


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Endpoint:
    """A request that works, and where a hostile value may go in it."""

    method: str
    path: str
    body: Callable[[], Any] | None  # a fresh valid body
    fields: list[tuple[Any, ...]] = field(default_factory=list)  # paths into the body
    query: list[str] = field(default_factory=list)
    auth: str | None = None  # "admin", "user", "machine" or None


def _ingest_event() -> dict[str, Any]:
    return {
        "name": "signup_started",
        "props": {"method": "email"},
        "event_id": str(uuid.uuid4()),
        "anonymous_id": "device-1",
        "timestamp": now_iso(),
        "sent_at": now_iso(),
        "platform": "ios",
        "app_build": "1",
        "device_model": "x",
    }


_INGEST_EVENT_FIELDS = list(_ingest_event())


def _posthog_event() -> dict[str, Any]:
    return {
        "event": "signup_started",
        "distinct_id": "user-1",
        "properties": {"method": "email", "$device_id": "d"},
        "timestamp": now_iso(),
        "uuid": str(uuid.uuid4()),
        "offset": 10,
        "$set": {"a": 1},
        "$set_once": {"b": 2},
    }


_POSTHOG_EVENT_FIELDS = [*_posthog_event(), "api_key", "token"]


def _segment_message() -> dict[str, Any]:
    return {
        "type": "track",
        "event": "signup_started",
        "messageId": str(uuid.uuid4()),
        "userId": "user-1",
        "anonymousId": "anon-1",
        "previousId": "p",
        "groupId": "g",
        "name": "n",
        "timestamp": now_iso(),
        "originalTimestamp": now_iso(),
        "sentAt": now_iso(),
        "properties": {"method": "email"},
        "traits": {"plan": "pro"},
        "context": {"os": {"name": "ios"}, "app": {"build": "1"}, "device": {"model": "x"}},
    }


_SEGMENT_MESSAGE_FIELDS = [*_segment_message(), "writeKey"]
_CREDENTIALS = {"email": "someone@example.com", "password": "a long password 1"}


def endpoints() -> dict[str, Endpoint]:
    """Every route that reads a body or a query, with a valid request for each."""
    return {
        "ingest single": Endpoint(
            "POST", "/v1/ingest", _ingest_event, [(f,) for f in _INGEST_EVENT_FIELDS], [], "machine"
        ),
        "ingest batch": Endpoint(
            "POST",
            "/v1/ingest",
            lambda: {"batch": [_ingest_event()], "sent_at": now_iso()},
            [("batch",), ("sent_at",), *[("batch", 0, f) for f in _INGEST_EVENT_FIELDS]],
        ),
        "posthog batch": Endpoint(
            "POST",
            "/batch/",
            lambda: {"api_key": POSTHOG_KEY, "batch": [_posthog_event()], "sent_at": now_iso()},
            [("api_key",), ("batch",), ("sent_at",)]
            + [("batch", 0, f) for f in _POSTHOG_EVENT_FIELDS],
            ["_", "compression", "ver"],
        ),
        "posthog capture": Endpoint(
            "POST",
            "/capture/",
            lambda: {**_posthog_event(), "api_key": POSTHOG_KEY},
            [(f,) for f in _POSTHOG_EVENT_FIELDS],
            ["_", "compression"],
        ),
        "segment batch": Endpoint(
            "POST",
            "/v1/batch",
            lambda: {"writeKey": SEGMENT_KEY, "batch": [_segment_message()], "sentAt": now_iso()},
            [("writeKey",), ("batch",), ("sentAt",)]
            + [("batch", 0, f) for f in _SEGMENT_MESSAGE_FIELDS],
        ),
        "segment track": Endpoint(
            "POST",
            "/v1/track",
            lambda: {**_segment_message(), "writeKey": SEGMENT_KEY},
            [(f,) for f in _SEGMENT_MESSAGE_FIELDS],
        ),
        "signup": Endpoint(
            "POST", "/v1/auth/signup", lambda: dict(_CREDENTIALS), [("email",), ("password",)]
        ),
        "login": Endpoint(
            "POST", "/v1/auth/login", lambda: dict(_CREDENTIALS), [("email",), ("password",)]
        ),
        "request reset": Endpoint(
            "POST", "/v1/auth/request-reset", lambda: {"email": "x@example.com"}, [("email",)]
        ),
        "perform reset": Endpoint(
            "POST",
            "/v1/auth/perform-reset",
            lambda: {"token": "0" * 64, "password": "a long password 1"},
            [("token",), ("password",)],
        ),
        "set role": Endpoint(
            "PUT",
            f"/v1/admin/users/{uuid.uuid4()}/role",
            lambda: {"role": "user"},
            [("role",)],
            auth="admin",
        ),
        "export": Endpoint("POST", "/v1/export/ml-dump", None, [], ["days", "format"], "admin"),
        "download": Endpoint("GET", "/v1/export/files/ml_export_1d_1.csv", None, [], [], "admin"),
        "my events": Endpoint("GET", "/v1/me/events", None, [], ["cursor", "limit"], "user"),
        "reset page": Endpoint("GET", "/reset-password", None, [], ["token"]),
    }


def _put(body: Any, path: tuple[Any, ...], value: Any) -> None:
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@st.composite
def hostile_requests(draw: st.DrawFn, endpoint: Endpoint) -> tuple[Any, dict[str, str]]:
    """(body, query) of `endpoint` with some fields and parameters replaced by hostile values."""
    body = endpoint.body() if endpoint.body else None
    if endpoint.fields:
        for path in draw(st.lists(st.sampled_from(endpoint.fields), min_size=1, max_size=3)):
            # An earlier replacement may have removed the container this path goes through.
            with contextlib.suppress(TypeError, KeyError, IndexError):
                _put(body, path, draw(values_for(str(path[-1]), json_values)))
    query = {}
    if endpoint.query:
        for name in draw(st.lists(st.sampled_from(endpoint.query), max_size=len(endpoint.query))):
            query[name] = draw(values_for(name, query_values))
    return body, query


def check_no_server_error(
    client: httpx.Client, endpoint: Endpoint, headers: dict[str, str], examples: int
) -> None:
    """Hypothesis drives `examples` hostile requests; none may get a 5xx, and every 4xx but the
    HTML reset page's is a problem document."""

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=examples <= 50,  # the quick run is the same every time
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(request=hostile_requests(endpoint))
    def check(request: tuple[Any, dict[str, str]]) -> None:
        body, query = request
        content = None if body is None else json.dumps(body).encode()
        response = client.request(
            endpoint.method,
            endpoint.path,
            params=query,
            content=content,
            headers={"content-type": "application/json", **headers},
        )
        where = f"{endpoint.method} {endpoint.path} {query} {content[:300] if content else ''}"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400 and endpoint.path != "/reset-password":
            assert response.headers["content-type"].startswith("application/problem+json"), where

    check()

"""The collector's decoder: its one-pass fast path for batches must decide exactly what the
step-by-step path decides, for good bodies and bad ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everreach.collector.wire import MAX_PROPERTY_DEPTH, decode_checked, decode_request
from everreach.platform.problems import ClientFault

MAX_EVENTS = 5

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
# Each field sometimes holds a value of the wrong type, so bad bodies are generated too.
events = st.fixed_dictionaries(
    {"name": st.text(max_size=8) | st.integers()},
    optional={
        "props": st.dictionaries(st.text(max_size=6), json_values, max_size=4) | scalars,
        "event_id": st.uuids().map(str) | st.text(max_size=5),
        "anonymous_id": st.text(max_size=10) | st.integers(),
        "timestamp": st.datetimes().map(lambda d: d.isoformat() + "Z") | st.text(max_size=5),
        "platform": st.sampled_from(["ios", "android"]) | st.integers(),
        "unknown_field": json_values,
    },
)
bodies = st.fixed_dictionaries(
    {"batch": st.lists(events, max_size=MAX_EVENTS + 2) | scalars},
    optional={"sent_at": st.datetimes().map(lambda d: d.isoformat() + "Z") | st.integers()},
)


def outcome(decode: Any, body: bytes) -> Any:
    try:
        return decode(body, MAX_EVENTS)
    except ClientFault as fault:
        return (fault.status, fault.code, fault.detail)


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_the_fast_path_agrees_with_the_checked_path(body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    assert outcome(decode_request, raw) == outcome(decode_checked, raw)


def nested(depth: int) -> dict[str, Any]:
    """A props object `depth` objects deep (itself included)."""
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize("depth", [MAX_PROPERTY_DEPTH, MAX_PROPERTY_DEPTH + 1])
def test_property_depth_limit_is_the_same_on_both_paths(depth: int) -> None:
    raw = json.dumps({"batch": [{"name": "app_open", "props": nested(depth)}]}).encode()
    assert outcome(decode_request, raw) == outcome(decode_checked, raw)
    if depth > MAX_PROPERTY_DEPTH:
        assert outcome(decode_request, raw)[1] == "too_deep"
    else:
        assert decode_request(raw, MAX_EVENTS).events[0].name == "app_open"


def test_nul_characters_are_stripped_on_both_paths() -> None:
    raw = json.dumps({"batch": [{"name": "app\u0000_open", "props": {"a\u0000": "x\u0000"}}]})
    decoded = decode_request(raw.encode(), MAX_EVENTS)
    assert decoded.events[0].name == "app_open"
    assert decoded.events[0].props == {"a": "x"}

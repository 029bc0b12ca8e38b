"""Synthetic EverReach traffic (`synthetic_traffic.py`) checked against the real tracking plan."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from everreach.plan import TrackingPlan, load_plan
from everreach_cli.synthetic_traffic import (
    FAULT_MISSING_PROPERTY,
    FAULT_RETRY,
    FAULT_UNKNOWN_EVENT,
    SyntheticRequest,
    expected_counts,
    generate_traffic,
)

END = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
DAYS = 30
WIRE_KEYS = {
    "name",
    "props",
    "event_id",
    "anonymous_id",
    "timestamp",
    "sent_at",
    "platform",
    "app_build",
    "device_model",
}
PRE_AUTH_ONLY = {"signup_started", "onboarding_question_answered", "signup_completed"}


@pytest.fixture(scope="module")
def plan() -> TrackingPlan:
    return load_plan()


@pytest.fixture(scope="module")
def traffic() -> list[SyntheticRequest]:
    return generate_traffic(users=400, days=DAYS, seed=42, end=END)


@pytest.fixture(scope="module")
def clean() -> list[SyntheticRequest]:
    return generate_traffic(users=400, days=DAYS, seed=42, end=END, faults=False)


def ts(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def good_events(requests: list[SyntheticRequest]) -> list[tuple[SyntheticRequest, dict]]:
    return [
        (r, e)
        for r in requests
        if r.fault != FAULT_RETRY
        for i, e in enumerate(r.events)
        if i not in r.faulty_events
    ]


# --------------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_gives_identical_traffic(traffic: list[SyntheticRequest]) -> None:
    assert generate_traffic(users=400, days=DAYS, seed=42, end=END) == traffic


def test_different_seed_gives_different_traffic(traffic: list[SyntheticRequest]) -> None:
    other = generate_traffic(users=400, days=DAYS, seed=43, end=END)
    assert other != traffic
    ids = {e["event_id"] for r in traffic for e in r.events}
    assert not ids & {e["event_id"] for r in other for e in r.events}


def test_people_are_stable_when_more_users_are_added() -> None:
    small = generate_traffic(users=20, days=7, seed=5, end=END, faults=False)
    large = generate_traffic(users=40, days=7, seed=5, end=END, faults=False)
    small_ids = {e["event_id"] for r in small for e in r.events}
    large_ids = {e["event_id"] for r in large for e in r.events}
    assert small_ids < large_ids


def test_naive_end_is_taken_as_utc() -> None:
    naive = generate_traffic(users=10, days=3, seed=1, end=END.replace(tzinfo=None))
    assert naive == generate_traffic(users=10, days=3, seed=1, end=END)


# --------------------------------------------------------------------------------------------------
# Shape and validity


def test_requests_are_sorted_small_batches_in_wire_format(traffic: list[SyntheticRequest]) -> None:
    assert [r.sent_at for r in traffic] == sorted(r.sent_at for r in traffic)
    window_start = END - timedelta(days=DAYS)
    for request in traffic:
        assert 1 <= len(request.events) <= 20
        assert request.sent_at.tzinfo is not None
        assert window_start <= request.sent_at <= END
        assert len({e["anonymous_id"] for e in request.events}) == 1  # one person per request
        for event in request.events:
            assert set(event) == WIRE_KEYS
            assert window_start <= ts(event["timestamp"]) <= ts(event["sent_at"]) <= END
            assert ts(event["sent_at"]) <= request.sent_at + timedelta(milliseconds=1)
            assert event["platform"] in {"ios", "android"}


def test_every_non_faulty_event_validates_against_the_plan(
    plan: TrackingPlan, traffic: list[SyntheticRequest]
) -> None:
    events = good_events(traffic)
    assert len(events) > 5000
    invalid = [(e["name"], plan.validate(e["name"], e["props"])) for _, e in events]
    assert [item for item in invalid if item[1]] == []


def test_traffic_covers_most_of_the_plan(plan: TrackingPlan, clean: list[SyntheticRequest]) -> None:
    seen = {e["name"] for r in clean for e in r.events}
    assert seen <= set(plan.events)
    assert len(seen) >= len(plan.events) - 2, set(plan.events) - seen


def test_pre_auth_events_come_without_user_id_and_others_with(
    plan: TrackingPlan, traffic: list[SyntheticRequest]
) -> None:
    for request, event in good_events(traffic):
        if request.user_id is None:
            assert plan.is_pre_auth(event["name"]), event["name"]
        else:
            assert event["name"] not in PRE_AUTH_ONLY
    anonymous = [r for r in traffic if r.user_id is None]
    assert anonymous and any(r.user_id for r in traffic)


def test_anonymous_trail_stitches_to_the_user(clean: list[SyntheticRequest]) -> None:
    """signup_completed names the new user, and that user's requests carry the same device id."""
    user_by_anon = {}
    for request in clean:
        for event in request.events:
            if event["name"] == "signup_completed":
                user_by_anon[event["anonymous_id"]] = event["props"]["user_id"]
    assert user_by_anon
    authenticated = [r for r in clean if r.user_id is not None]
    assert authenticated
    for request in authenticated:
        assert user_by_anon[request.events[0]["anonymous_id"]] == request.user_id


def test_prompt_response_feedback_chain_is_ordered(clean: list[SyntheticRequest]) -> None:
    by_name: dict[str, dict[str, datetime]] = defaultdict(dict)
    prompts: dict[str, datetime] = {}
    response_prompt: dict[str, str] = {}
    for request in clean:
        for event in request.events:
            props, at = event["props"], ts(event["timestamp"])
            if event["name"] == "prompt_submitted":
                prompts[props["prompt_id"]] = at
            elif event["name"] == "ai_response_generated":
                response_prompt[props["response_id"]] = props["prompt_id"]
                by_name["generated"][props["response_id"]] = at
            elif "response_id" in props and event["name"].startswith("response_"):
                by_name[event["name"]][props["response_id"]] = at
    rendered = by_name["response_rendered"]
    assert response_prompt and set(rendered) == set(response_prompt)
    for response_id, prompt_id in response_prompt.items():
        assert prompts[prompt_id] < by_name["generated"][response_id] <= rendered[response_id]
    reactions = 0
    for name in ("response_copied", "response_liked", "response_disliked"):
        for response_id, at in by_name[name].items():
            dwell = (at - rendered[response_id]).total_seconds()
            assert 1.0 <= dwell <= 300, (name, dwell)
            reactions += 1
    assert reactions > 500


def test_each_device_sends_in_order_and_prompts_precede_their_responses(
    traffic: list[SyntheticRequest],
) -> None:
    """The SDK queue is FIFO, and faults never leave an accepted response without its prompt."""
    last_timestamp: dict[str, datetime] = {}
    delivered_prompts: set[str] = set()
    responses = 0
    for _, event in good_events(traffic):
        device, at = event["anonymous_id"], ts(event["timestamp"])
        assert at >= last_timestamp.get(device, at)
        last_timestamp[device] = at
        if event["name"] == "prompt_submitted":
            delivered_prompts.add(event["props"]["prompt_id"])
        elif event["name"] == "ai_response_generated":
            assert event["props"]["prompt_id"] in delivered_prompts
            responses += 1
    assert responses > 1000


def test_prompt_texts_contain_some_pii(clean: list[SyntheticRequest]) -> None:
    texts = [e["props"]["text"] for r in clean for e in r.events if e["name"] == "prompt_submitted"]
    email = re.compile(r"[\w.]+@[\w.]+\.\w+")
    phone = re.compile(r"\+1 \d{3} \d{3} \d{4}")
    with_email = sum(bool(email.search(t)) for t in texts)
    with_phone = sum(bool(phone.search(t)) for t in texts)
    assert with_email > 0 and with_phone > 0
    assert (with_email + with_phone) / len(texts) < 0.2


def test_funnel_rates_are_realistic(clean: list[SyntheticRequest]) -> None:
    people: dict[str, set[str]] = defaultdict(set)
    for request in clean:
        for event in request.events:
            people[event["name"]].add(event["anonymous_id"])  # one device per person
    counts = expected_counts(clean)
    onboarding = len(people["onboarding_completed"]) / len(people["signup_completed"])
    conversion = len(people["purchase_succeeded"] & people["trial_started"]) / len(
        people["trial_started"]
    )
    copy_rate = counts["response_copied"] / counts["ai_response_generated"]
    assert 0.6 <= onboarding <= 0.8
    assert 0.08 <= conversion <= 0.3
    assert 0.2 <= copy_rate <= 0.4


# --------------------------------------------------------------------------------------------------
# Faults


def test_faults_are_present_when_enabled(
    plan: TrackingPlan, traffic: list[SyntheticRequest]
) -> None:
    kinds = Counter(r.fault for r in traffic)
    assert kinds[FAULT_RETRY] > 0
    assert kinds[FAULT_UNKNOWN_EVENT] > 0
    assert kinds[FAULT_MISSING_PROPERTY] > 0
    faulty = len(traffic) - kinds[None]
    assert 0.01 <= faulty / len(traffic) <= 0.08

    for request in traffic:
        if request.fault in (FAULT_UNKNOWN_EVENT, FAULT_MISSING_PROPERTY):
            assert len(request.faulty_events) == 1
            event = request.events[request.faulty_events[0]]
            codes = {v.code for v in plan.validate(event["name"], event["props"])}
            assert codes == {request.fault}


def test_retries_repeat_an_earlier_body_exactly(traffic: list[SyntheticRequest]) -> None:
    first_seen: dict[str, tuple[int, SyntheticRequest]] = {}
    retries = 0
    for position, request in enumerate(traffic):
        if request.fault != FAULT_RETRY:
            for event in request.events:
                assert event["event_id"] not in first_seen  # only retries duplicate ids
                first_seen[event["event_id"]] = (position, request)
            continue
        retries += 1
        original_position, original = first_seen[request.events[0]["event_id"]]
        assert original_position < position
        assert original.events == request.events
        assert original.user_id == request.user_id
        assert original.sent_at <= request.sent_at
        assert request.faulty_events == tuple(range(len(request.events)))
    assert retries > 0


def test_no_faults_when_disabled(clean: list[SyntheticRequest], plan: TrackingPlan) -> None:
    assert all(r.fault is None and r.faulty_events == () for r in clean)
    ids = [e["event_id"] for r in clean for e in r.events]
    assert len(ids) == len(set(ids))
    assert all(not plan.validate(e["name"], e["props"]) for r in clean for e in r.events)


def test_expected_counts_excludes_retries_and_faulty_events(
    traffic: list[SyntheticRequest],
) -> None:
    counts = expected_counts(traffic)
    total = sum(len(r.events) for r in traffic)
    excluded = sum(len(r.faulty_events) for r in traffic)
    assert excluded > 0
    assert sum(counts.values()) == total - excluded
    assert counts == Counter(e["name"] for _, e in good_events(traffic))
    assert not set(counts) & {"screen_viewed", "promt_submitted", "button_tapped", "ResponseCopied"}


def test_faults_do_not_change_the_clean_traffic(
    traffic: list[SyntheticRequest], clean: list[SyntheticRequest]
) -> None:
    """Faults come from their own random stream: the people behave the same either way."""
    untouched = [r for r in traffic if r.fault is None]
    clean_by_first_id = {r.events[0]["event_id"]: r for r in clean}
    for request in untouched:
        assert clean_by_first_id[request.events[0]["event_id"]] == request
    assert len([r for r in traffic if r.fault != FAULT_RETRY]) == len(clean)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate_traffic(users=1, days=0, seed=1, end=END)
    assert generate_traffic(users=0, days=1, seed=1, end=END) == []

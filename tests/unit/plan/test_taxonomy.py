"""The tracking plan (analytics/events.yml) and its loader / validator (everreach.plan)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import msgspec
import pytest

from everreach.plan import (
    DEFAULT_PLAN_PATH,
    VIOLATION_CODES,
    DurationLabel,
    NetCountLabel,
    PlanError,
    RatioLabel,
    TrackingPlan,
    Violation,
    load_plan,
)

UUID = "3f1c2a4e-8b7d-4c1e-9a2b-1234567890ab"

SEED_EVENTS = {
    "ai": [
        "prompt_submitted",
        "ai_response_generated",
        "response_copied",
        "response_liked",
        "response_disliked",
        "response_rendered",
    ],
    "paywall": [
        "paywall_shown",
        "purchase_attempted",
        "purchase_succeeded",
        "purchase_failed",
        "purchase_restored",
        "entitlement_refreshed",
    ],
    "trial": [
        "trial_started",
        "trial_expired",
        "trial_extended",
        "subscription_cancelled",
        "feature_blocked",
    ],
    "onboarding": [
        "signup_started",
        "signup_completed",
        "onboarding_question_answered",
        "onboarding_completed",
        "first_contact_created",
        "aha_reached",
    ],
    "contacts": [
        "contact_warmth_changed",
        "contact_warmth_below_threshold",
        "contact_imported",
        "interaction_created",
    ],
    "feature_usage": [
        "message_sent",
        "message_template_used",
        "contact_searched",
        "filter_applied",
        "export_data",
    ],
}

# (event, property) -> (type, required, extra constraints expected on the spec)
FIXED_PROPERTIES: dict[tuple[str, str], tuple[str, bool, dict[str, object]]] = {
    ("prompt_submitted", "prompt_id"): ("string", True, {"format": "uuid"}),
    ("prompt_submitted", "session_id"): ("string", False, {}),
    ("prompt_submitted", "contact_id"): ("string", False, {}),
    ("prompt_submitted", "text"): ("string", True, {}),
    ("prompt_submitted", "model"): ("string", True, {}),
    ("prompt_submitted", "temperature"): ("number", False, {"minimum": 0, "maximum": 2}),
    ("prompt_submitted", "tags"): ("array", False, {"items": "string"}),
    ("ai_response_generated", "response_id"): ("string", True, {"format": "uuid"}),
    ("ai_response_generated", "prompt_id"): ("string", True, {"format": "uuid"}),
    ("ai_response_generated", "model"): ("string", True, {}),
    ("ai_response_generated", "text"): ("string", True, {}),
    ("ai_response_generated", "tokens_out"): ("integer", False, {"minimum": 0}),
    (
        "ai_response_generated",
        "finish_reason",
    ): ("string", False, {"enum": ("stop", "length", "content_filter", "error")}),
    ("ai_response_generated", "cost_usd"): ("number", False, {"minimum": 0}),
    ("ai_response_generated", "latency_ms"): ("integer", False, {"minimum": 0}),
    ("response_rendered", "response_id"): ("string", True, {"format": "uuid"}),
    ("response_copied", "response_id"): ("string", True, {"format": "uuid"}),
    ("response_liked", "response_id"): ("string", True, {"format": "uuid"}),
    ("response_disliked", "response_id"): ("string", True, {"format": "uuid"}),
    ("response_disliked", "reason"): ("string", False, {}),
    ("paywall_shown", "placement"): ("string", True, {}),
    ("paywall_shown", "variant"): ("string", False, {}),
    ("paywall_shown", "trigger"): ("string", False, {}),
    ("purchase_attempted", "product_id"): ("string", True, {}),
    ("purchase_attempted", "placement"): ("string", False, {}),
    ("purchase_attempted", "price_usd"): ("number", False, {}),
    ("purchase_succeeded", "product_id"): ("string", True, {}),
    ("purchase_succeeded", "transaction_id"): ("string", False, {}),
    ("purchase_succeeded", "is_trial_conversion"): ("boolean", False, {}),
    ("purchase_failed", "product_id"): ("string", True, {}),
    ("purchase_failed", "error_code"): ("string", False, {}),
    ("trial_started", "plan"): ("string", True, {}),
    ("trial_started", "trial_days"): ("integer", False, {}),
    ("signup_started", "method"): ("string", True, {"enum": ("email", "apple", "google")}),
    ("signup_completed", "method"): ("string", True, {"enum": ("email", "apple", "google")}),
    ("onboarding_question_answered", "question_id"): ("string", True, {}),
    ("onboarding_question_answered", "answer"): ("string", False, {}),
    ("contact_warmth_changed", "contact_id"): ("string", True, {}),
    ("contact_warmth_changed", "from_warmth"): ("integer", False, {"minimum": 0, "maximum": 100}),
    ("contact_warmth_changed", "to_warmth"): ("integer", True, {"minimum": 0, "maximum": 100}),
    ("contact_warmth_below_threshold", "warmth"): ("integer", True, {"maximum": 100}),
    ("contact_warmth_below_threshold", "threshold"): ("integer", True, {"maximum": 100}),
}


@pytest.fixture(scope="module")
def plan() -> TrackingPlan:
    return load_plan()


# --------------------------------------------------------------------------------------------------
# The real plan


def test_real_plan_loads_from_the_repository(plan: TrackingPlan) -> None:
    assert plan.version == 1
    assert DEFAULT_PLAN_PATH.name == "events.yml"
    assert DEFAULT_PLAN_PATH.parent.name == "analytics"


@pytest.mark.parametrize(
    ("category", "name"),
    [(category, name) for category, names in SEED_EVENTS.items() for name in names],
)
def test_every_seed_event_is_planned_with_its_category(
    plan: TrackingPlan, category: str, name: str
) -> None:
    spec = plan.event(name)
    assert spec is not None, name
    assert spec.category == category
    assert spec.description
    assert category in plan.categories


def test_plan_has_exactly_the_seed_events(plan: TrackingPlan) -> None:
    expected = {name for names in SEED_EVENTS.values() for name in names}
    assert set(plan.events) == expected


def test_only_signup_onboarding_questions_and_paywall_are_pre_auth(plan: TrackingPlan) -> None:
    pre_auth = {name for name in plan.events if plan.is_pre_auth(name)}
    assert pre_auth == {
        "signup_started",
        "signup_completed",
        "onboarding_question_answered",
        "paywall_shown",
    }
    assert not plan.is_pre_auth("not_an_event")


@pytest.mark.parametrize(("key", "expected"), list(FIXED_PROPERTIES.items()))
def test_fixed_property_names_types_and_constraints(
    plan: TrackingPlan, key: tuple[str, str], expected: tuple[str, bool, dict[str, object]]
) -> None:
    event, prop = key
    ptype, required, extra = expected
    spec = plan.events[event].properties[prop]
    assert spec.type == ptype
    assert spec.required is required
    for attr, value in extra.items():
        assert getattr(spec, attr) == value, (event, prop, attr)


def test_labels_are_defined_and_refer_to_planned_events(plan: TrackingPlan) -> None:
    assert set(plan.labels) == {
        "helpful",
        "copy_rate",
        "dwell_ms",
        "ctr_paywall",
        "trial_conversion_rate",
        "onboarding_completion_rate",
        "paywall_purchase_24h",
    }
    for label in plan.labels.values():
        assert label.description
        assert label.events
        for event in label.events:
            assert event in plan.events, (label.name, event)


def test_label_definitions_have_the_agreed_shape(plan: TrackingPlan) -> None:
    helpful = plan.labels["helpful"]
    assert isinstance(helpful, NetCountLabel)
    assert (helpful.kind, helpful.entity, helpful.key) == ("net_count", "response", "response_id")
    assert (helpful.plus, helpful.minus) == (("response_liked",), ("response_disliked",))

    copy_rate = plan.labels["copy_rate"]
    assert isinstance(copy_rate, RatioLabel)
    assert copy_rate.numerator.event == "response_copied"
    assert copy_rate.numerator.distinct == "response_id"
    assert copy_rate.denominator.event == "ai_response_generated"
    assert copy_rate.by == ("model",)

    dwell = plan.labels["dwell_ms"]
    assert isinstance(dwell, DurationLabel)
    assert dwell.start == "response_rendered"
    assert dwell.end == ("response_copied", "response_liked", "response_disliked")
    assert (dwell.key, dwell.aggregate) == ("response_id", "median")

    ctr = plan.labels["ctr_paywall"]
    assert isinstance(ctr, RatioLabel)
    assert ctr.numerator.by_user and ctr.denominator.by_user
    assert ctr.numerator.within == "day"
    assert ctr.numerator.within_hours is None

    within_24h = plan.labels["paywall_purchase_24h"]
    assert isinstance(within_24h, RatioLabel)
    assert (within_24h.numerator.event, within_24h.denominator.event) == (
        "purchase_succeeded",
        "paywall_shown",
    )
    assert within_24h.numerator.within_hours == 24

    for name, num, den in [
        ("trial_conversion_rate", "purchase_succeeded", "trial_started"),
        ("onboarding_completion_rate", "onboarding_completed", "signup_completed"),
    ]:
        label = plan.labels[name]
        assert isinstance(label, RatioLabel)
        assert (label.numerator.event, label.denominator.event) == (num, den)
        assert label.numerator.within == "denominator"
        assert label.numerator.distinct == label.denominator.distinct == "user"


def test_env_var_selects_the_plan_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plan.yml"
    path.write_text(MINIMAL_PLAN)
    monkeypatch.setenv("EVERREACH_TRACKING_PLAN", str(path))
    assert set(load_plan().events) == {"ping"}
    other = tmp_path / "other.yml"
    other.write_text(MINIMAL_PLAN.replace("ping", "pong"))
    assert set(load_plan(other).events) == {"pong"}  # an explicit path wins over the env var


# --------------------------------------------------------------------------------------------------
# validate()


def valid_prompt(**overrides: object) -> dict[str, object]:
    props: dict[str, object] = {
        "prompt_id": UUID,
        "text": "Write to Dana",
        "model": "gpt-4o-mini",
        "temperature": 0.7,
        "tags": ["follow_up"],
    }
    props.update(overrides)
    return props


def codes(violations: list[Violation]) -> list[tuple[str, str | None]]:
    return [(v.code, v.property) for v in violations]


def test_valid_event_has_no_violations_and_unplanned_props_are_allowed(plan: TrackingPlan) -> None:
    assert plan.validate("prompt_submitted", valid_prompt(brand_new_prop={"x": 1})) == []
    assert plan.validate("prompt_submitted", valid_prompt(prompt_id=UUID.upper())) == []


def test_unknown_event(plan: TrackingPlan) -> None:
    assert codes(plan.validate("promt_submitted", {})) == [("unknown_event", None)]


def test_missing_required_property_and_null_counts_as_absent(plan: TrackingPlan) -> None:
    props = valid_prompt()
    del props["model"]
    assert codes(plan.validate("prompt_submitted", props)) == [("missing_property", "model")]
    assert codes(plan.validate("prompt_submitted", valid_prompt(text=None))) == [
        ("missing_property", "text")
    ]
    assert plan.validate("prompt_submitted", valid_prompt(temperature=None)) == []
    assert codes(plan.validate("response_copied", None)) == [("missing_property", "response_id")]


@pytest.mark.parametrize(
    ("event", "props", "expected"),
    [
        ("prompt_submitted", valid_prompt(text=42), ("wrong_type", "text")),
        ("prompt_submitted", valid_prompt(temperature="0.7"), ("wrong_type", "temperature")),
        ("prompt_submitted", valid_prompt(temperature=True), ("wrong_type", "temperature")),
        ("prompt_submitted", valid_prompt(temperature=float("nan")), ("wrong_type", "temperature")),
        ("prompt_submitted", valid_prompt(tags="follow_up"), ("wrong_type", "tags")),
        ("prompt_submitted", valid_prompt(tags=["ok", 3]), ("wrong_type", "tags")),
        ("prompt_submitted", valid_prompt(temperature=2.5), ("out_of_range", "temperature")),
        ("prompt_submitted", valid_prompt(temperature=-0.1), ("out_of_range", "temperature")),
        ("prompt_submitted", valid_prompt(prompt_id="not-a-uuid"), ("bad_format", "prompt_id")),
        ("prompt_submitted", valid_prompt(prompt_id=UUID + "0"), ("bad_format", "prompt_id")),
        ("prompt_submitted", valid_prompt(model="m" * 101), ("too_long", "model")),
        ("signup_started", {"method": "facebook"}, ("not_in_enum", "method")),
        ("ai_response_generated", {"finish_reason": "oops"}, ("not_in_enum", "finish_reason")),
        (
            "contact_warmth_changed",
            {"contact_id": "c", "to_warmth": 101},
            ("out_of_range", "to_warmth"),
        ),
        (
            "purchase_succeeded",
            {"product_id": "p", "is_trial_conversion": 1},
            ("wrong_type", "is_trial_conversion"),
        ),
        (
            "entitlement_refreshed",
            {"entitlement": "pro", "is_active": True, "expires_at": "2025-13-01T00:00:00Z"},
            ("bad_format", "expires_at"),
        ),
        (
            "entitlement_refreshed",
            {"entitlement": "pro", "is_active": True, "expires_at": "2025-11-01T10:00:00"},
            ("bad_format", "expires_at"),
        ),
        (
            "entitlement_refreshed",
            {"entitlement": "pro", "is_active": True, "expires_at": "2025-11-01"},
            ("bad_format", "expires_at"),
        ),
    ],
)
def test_each_violation_code_is_detected(
    plan: TrackingPlan, event: str, props: dict[str, object], expected: tuple[str, str]
) -> None:
    assert expected in codes(plan.validate(event, props))


def test_every_violation_code_is_reachable(plan: TrackingPlan) -> None:
    seen = {v.code for v in plan.validate("nope", {})}
    seen |= {v.code for v in plan.validate("prompt_submitted", {"temperature": 9, "model": 1})}
    seen |= {v.code for v in plan.validate("signup_started", {"method": "x"})}
    seen |= {v.code for v in plan.validate("ai_response_generated", {"response_id": "x"})}
    seen |= {
        v.code
        for v in plan.validate("response_disliked", {"response_id": UUID, "reason": "r" * 501})
    }
    assert seen == set(VIOLATION_CODES)


def test_bool_is_not_an_integer_and_integer_rejects_floats(plan: TrackingPlan) -> None:
    base = {"response_id": UUID, "prompt_id": UUID, "model": "m", "text": "t"}
    assert plan.validate("ai_response_generated", {**base, "tokens_out": 12}) == []
    for bad in (True, False, 12.0, 12.5, "12"):
        assert codes(plan.validate("ai_response_generated", {**base, "tokens_out": bad})) == [
            ("wrong_type", "tokens_out")
        ], bad
    assert plan.validate("ai_response_generated", {**base, "cost_usd": 0}) == []
    assert codes(plan.validate("ai_response_generated", {**base, "cost_usd": False})) == [
        ("wrong_type", "cost_usd")
    ]


def test_date_time_accepts_iso_8601_with_offset(plan: TrackingPlan) -> None:
    base = {"entitlement": "pro", "is_active": True}
    for good in ("2025-11-01T10:00:00Z", "2025-11-01T10:00:00.123+02:00", "2025-11-01 10:00:00Z"):
        assert plan.validate("entitlement_refreshed", {**base, "expires_at": good}) == [], good


def test_one_violation_per_property_in_plan_order(plan: TrackingPlan) -> None:
    violations = plan.validate("prompt_submitted", {"prompt_id": 1, "temperature": "hot"})
    assert codes(violations) == [
        ("wrong_type", "prompt_id"),
        ("missing_property", "text"),
        ("missing_property", "model"),
        ("wrong_type", "temperature"),
    ]


def test_violations_serialise_to_json_without_echoing_string_values(plan: TrackingPlan) -> None:
    secret = "dana@example.com"
    violations = plan.validate("signup_started", {"method": secret})
    builtins = msgspec.to_builtins(violations)
    assert builtins == [
        {"code": "not_in_enum", "property": "method", "detail": builtins[0]["detail"]}
    ]
    assert secret not in json.dumps(builtins)


# --------------------------------------------------------------------------------------------------
# Broken plans: PlanError names the file and the exact line


MINIMAL_PLAN = textwrap.dedent(
    """\
    version: 1
    events:
      ping:
        category: misc
        description: A ping.
    """
)

BASE = """\
version: 1
categories:
  ai: AI
events:
  prompt_submitted:
    category: ai
    description: A prompt.
    properties:
      prompt_id: {type: string, format: uuid, required: true}
      temperature:
        type: number
  response_copied:
    category: ai
    description: Copied.
    properties:
      response_id: {type: string, required: true}
labels:
  copies:
    kind: ratio
    description: Copies per prompt.
    numerator: {event: response_copied, distinct: user}
    denominator: {event: prompt_submitted, distinct: user}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "events.yml"
    path.write_text(text)
    return path


def test_base_plan_for_fault_tests_is_valid(tmp_path: Path) -> None:
    loaded = load_plan(write(tmp_path, BASE))
    assert set(loaded.events) == {"prompt_submitted", "response_copied"}
    assert set(loaded.labels) == {"copies"}


def test_unknown_type_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("        type: number", "        type: float"))
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert err.value.line == 11
    assert Path(err.value.path).resolve() == path.resolve()
    assert str(err.value) == (
        f"{err.value.path}:11: property 'temperature' of event 'prompt_submitted' "
        "has unknown type 'float'; "
        "expected one of: string, integer, number, boolean, array, object"
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        # YAML syntax error: an unclosed flow mapping
        (
            "{type: string, required: true}",
            "{type: string, required: true",
            17,
            "YAML syntax error",
        ),
        # unknown key on a property
        (
            "        type: number",
            "        type: number\n        minimun: 0",
            12,
            "unknown key 'minimun'",
        ),
        # unknown key on an event
        ("    description: Copied.", "    descripton: Copied.", 14, "unknown key 'descripton'"),
        # unknown top-level key
        ("labels:", "label:", 17, "unknown key 'label'"),
        # enum on a number
        (
            "        type: number",
            "        type: number\n        enum: [1, 2]",
            12,
            "'enum' is not allowed on type 'number'",
        ),
        # minimum on a string
        (
            "{type: string, required: true}",
            "{type: string, minimum: 1}",
            16,
            "'minimum' is not allowed on type 'string'",
        ),
        # max_length on a number
        (
            "        type: number",
            "        type: number\n        max_length: 3",
            12,
            "'max_length' is not allowed",
        ),
        # enum value of the wrong type
        ("{type: string, required: true}", "{type: string, enum: [a, 3]}", 16, "enum value 3"),
        # minimum above maximum
        (
            "        type: number",
            "        type: number\n        minimum: 5\n        maximum: 1",
            13,
            "maximum 1 is below minimum 5",
        ),
        # unknown format
        ("format: uuid", "format: email", 9, "unknown format 'email'"),
        # label refers to an event that is not in the plan
        (
            "numerator: {event: response_copied",
            "numerator: {event: response_copie",
            21,
            "unknown event 'response_copie'",
        ),
        # label of an unknown kind
        ("    kind: ratio", "    kind: funnel", 19, "unknown kind 'funnel'"),
        # distinct property not on the event
        (
            "{event: prompt_submitted, distinct: user}",
            "{event: prompt_submitted, distinct: model}",
            22,
            "distinct 'model'",
        ),
        # duplicate event
        (
            "labels:",
            "  prompt_submitted:\n    category: ai\n    description: Again.\nlabels:",
            17,
            "duplicate key 'prompt_submitted' in events (first defined on line 5)",
        ),
        # duplicate property key
        (
            "      temperature:\n",
            "      prompt_id: {type: string}\n      temperature:\n",
            10,
            "duplicate key 'prompt_id'",
        ),
        # duplicate key inside an event
        (
            "    description: Copied.",
            "    description: Copied.\n    category: misc",
            15,
            "duplicate key 'category'",
        ),
        # unknown category
        (
            "  response_copied:\n    category: ai",
            "  response_copied:\n    category: misc",
            13,
            "unknown category 'misc'",
        ),
        # missing type
        (
            "      temperature:\n        type: number",
            "      temperature:\n        required: false",
            10,
            "missing required key 'type'",
        ),
        # pre_auth must be a boolean
        (
            "    description: A prompt.",
            "    description: A prompt.\n    pre_auth: sometimes",
            8,
            "pre_auth of event",
        ),
        # unsupported version
        ("version: 1", "version: 2", 1, "unsupported plan version 2"),
    ],
)
def test_broken_plan_raises_plan_error_at_the_right_line(
    tmp_path: Path, old: str, new: str, line: int, fragment: str
) -> None:
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert err.value.line == line, str(err.value)
    assert fragment in str(err.value)
    assert f"events.yml:{line}: " in str(err.value)


def test_label_key_property_must_exist_on_its_events(tmp_path: Path) -> None:
    text = BASE + (
        "  helpful:\n"
        "    kind: net_count\n"
        "    description: Net.\n"
        "    entity: response\n"
        "    plus: response_copied\n"
        "    minus: prompt_submitted\n"
    )
    with pytest.raises(PlanError) as err:
        load_plan(write(tmp_path, text))
    assert err.value.line == 26  # the `entity` line: key defaults to response_id
    assert "key property 'response_id' is not declared on event 'prompt_submitted'" in str(
        err.value
    )


def test_missing_file_raises_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read tracking plan"):
        load_plan(tmp_path / "absent.yml")


def test_empty_plan_raises_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as err:
        load_plan(write(tmp_path, "# nothing here\n"))
    assert err.value.line == 1


@pytest.mark.parametrize(
    ("numerator", "fragment"),
    [
        (
            "{event: response_copied, distinct: user, within: week}",
            "within must be 'day', 'denominator' or a span such as '24h' or '7d'",
        ),
        (
            "{event: response_copied, distinct: response_id}",
            "numerator and denominator must count the same distinct key",
        ),
    ],
)
def test_a_ratio_numerator_must_be_restricted_to_the_denominator(
    tmp_path: Path, numerator: str, fragment: str
) -> None:
    text = BASE.replace("{event: response_copied, distinct: user}", numerator)
    with pytest.raises(PlanError, match=fragment):
        load_plan(write(tmp_path, text))


@pytest.mark.parametrize(("within", "hours"), [("24h", 24), ("7d", 168), ("day", None)])
def test_a_ratio_numerator_may_count_within_a_span(
    tmp_path: Path, within: str, hours: int | None
) -> None:
    text = BASE.replace(
        "{event: response_copied, distinct: user}",
        f"{{event: response_copied, distinct: user, within: {within}}}",
    )
    label = load_plan(write(tmp_path, text)).labels["copies"]
    assert isinstance(label, RatioLabel)
    assert label.numerator.within_hours == hours

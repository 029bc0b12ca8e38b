"""POST /v1/ingest through real HTTP against a real Postgres: storage, dedup, quarantine, auth."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from everreach.accounts.tokens import TokenCodec
from tests.helpers import bearer, event, new_id, prompt_props, response_props


def post(api: httpx.Client, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.post("/v1/ingest", json=body, headers=headers or {})


def stored(db: psycopg.Connection[Any], event_id: str) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT event_name, user_id, anonymous_id, occurred_at, context, properties, sent_at "
        "FROM app_events WHERE event_id = %s",
        (event_id,),
    ).fetchone()


def test_single_pre_auth_event_is_stored_with_its_context(api, db):
    anon = new_id()
    sent = event(
        "signup_started",
        {"method": "email"},
        anonymous_id=anon,
        platform="ios",
        app_build="2026.11.3",
        device_model="iPhone15,2",
    )
    response = post(api, sent)
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1 and body["duplicates"] == 0 and body["quarantined"] == 0
    assert body["results"] == [{"event_id": sent["event_id"], "status": "accepted", "reasons": []}]
    name, user_id, anonymous_id, _, context, properties, _ = stored(db, sent["event_id"])
    assert (name, user_id, anonymous_id) == ("signup_started", None, anon)
    assert context == {"platform": "ios", "app_build": "2026.11.3", "device_model": "iPhone15,2"}
    assert properties == {"method": "email"}


def test_jwt_sets_user_id_for_a_batch(api, db, tokens: TokenCodec):
    user = new_id()
    batch = [event("message_sent", {"contact_id": "c1", "channel": "sms"}) for _ in range(3)]
    response = post(api, {"batch": batch}, bearer(tokens, user))
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3
    users = db.execute(
        "SELECT DISTINCT user_id FROM app_events WHERE event_id = ANY(%s)",
        ([uuid.UUID(e["event_id"]) for e in batch],),
    ).fetchall()
    assert users == [(user,)]


def test_missing_event_id_is_generated(api, db):
    sent = event("signup_started", {"method": "apple"}, anonymous_id=new_id())
    del sent["event_id"]
    result = post(api, sent).json()["results"][0]
    assert result["status"] == "accepted"
    assert uuid.UUID(result["event_id"])
    assert stored(db, result["event_id"]) is not None


def test_event_needing_auth_without_identity_is_quarantined_not_dropped(api, db):
    sent = event("message_sent", {"contact_id": "c1", "channel": "sms"})
    result = post(api, sent).json()["results"][0]
    assert result["status"] == "quarantined"
    assert [r["code"] for r in result["reasons"]] == ["auth_required"]
    assert stored(db, sent["event_id"]) is None
    row = db.execute(
        "SELECT reasons FROM quarantined_events WHERE event_id = %s", (sent["event_id"],)
    ).fetchone()
    assert row is not None and row[0][0]["code"] == "auth_required"


def test_pre_auth_event_without_identity_is_accepted(api, db):
    sent = event("signup_started", {"method": "google"})
    assert post(api, sent).json()["results"][0]["status"] == "accepted"


def test_unknown_event_and_bad_properties_go_to_quarantine_with_reasons(api, db):
    anon = new_id()
    unknown = event("rocket_launched", {"speed": 3}, anonymous_id=anon)
    missing = event("signup_started", {}, anonymous_id=anon)
    good = event("signup_started", {"method": "email"}, anonymous_id=anon)
    body = post(api, {"batch": [unknown, missing, good]}).json()
    assert (body["accepted"], body["quarantined"]) == (1, 2)
    statuses = {r["event_id"]: r for r in body["results"]}
    assert statuses[unknown["event_id"]]["reasons"][0]["code"] == "unknown_event"
    assert statuses[missing["event_id"]]["reasons"][0] == {
        "code": "missing_property",
        "property": "method",
        "detail": statuses[missing["event_id"]]["reasons"][0]["detail"],
    }
    raw, reasons = db.execute(
        "SELECT raw, reasons FROM quarantined_events WHERE event_id = %s", (unknown["event_id"],)
    ).fetchone()
    assert raw["name"] == "rocket_launched" and raw["props"] == {"speed": 3}
    assert reasons[0]["code"] == "unknown_event"
    assert stored(db, unknown["event_id"]) is None and stored(db, missing["event_id"]) is None


def test_retried_event_is_reported_duplicate_and_stored_once(api, db):
    sent = event("signup_started", {"method": "email"}, anonymous_id=new_id())
    assert post(api, sent).json()["results"][0]["status"] == "accepted"
    for _ in range(3):
        again = post(api, {"batch": [sent]}).json()
        assert again["duplicates"] == 1 and again["accepted"] == 0
    count = db.execute(
        "SELECT count(*) FROM app_events WHERE event_id = %s", (sent["event_id"],)
    ).fetchone()[0]
    assert count == 1


def test_same_event_twice_in_one_batch_is_one_accepted_one_duplicate(api, db):
    sent = event("signup_started", {"method": "email"}, anonymous_id=new_id())
    body = post(api, {"batch": [sent, sent]}).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]


def test_prompt_and_response_are_upserted_idempotently(api, db, tokens):
    user = new_id()
    prompt = prompt_props(temperature=0.7, tags=["birthday", "friend"], contact_id="c9")
    answer = response_props(prompt["prompt_id"])
    headers = bearer(tokens, user)
    first = post(
        api,
        {"batch": [event("prompt_submitted", prompt), event("ai_response_generated", answer)]},
        headers,
    )
    assert first.json()["accepted"] == 2
    before = db.execute(
        "SELECT user_id, text, model, temperature, tags, contact_id, created_at FROM prompts "
        "WHERE prompt_id = %s",
        (prompt["prompt_id"],),
    ).fetchone()
    assert before[:6] == (user, prompt["text"], "gpt-4o-mini", 0.7, ["birthday", "friend"], "c9")
    # The same prompt and response again under new event ids: nothing changes.
    post(
        api,
        {"batch": [event("prompt_submitted", prompt), event("ai_response_generated", answer)]},
        headers,
    )
    after = db.execute(
        "SELECT user_id, text, model, temperature, tags, contact_id, created_at FROM prompts "
        "WHERE prompt_id = %s",
        (prompt["prompt_id"],),
    ).fetchone()
    assert after == before
    rows = db.execute(
        "SELECT prompt_id::text, user_id, tokens_out, finish_reason, cost_usd::float, latency_ms "
        "FROM responses WHERE response_id = %s",
        (answer["response_id"],),
    ).fetchall()
    assert rows == [(prompt["prompt_id"], user, 42, "stop", 0.0012, 850)]


def test_pii_is_scrubbed_before_storage_and_long_text_truncated(api, db, tokens):
    user = new_id()
    prompt = prompt_props(text="Email jane.doe@example.com or call +1 415 555 0100 " + "x" * 6000)
    sent = event("prompt_submitted", {**prompt, "nested": {"password": "hunter2"}})
    assert post(api, sent, bearer(tokens, user)).json()["accepted"] == 1
    properties = stored(db, sent["event_id"])[5]
    assert "jane.doe@example.com" not in properties["text"]
    assert "555 0100" not in properties["text"]
    assert len(properties["text"]) == 5000
    assert properties["nested"]["password"] == "[REDACTED]"
    prompt_text = db.execute(
        "SELECT text FROM prompts WHERE prompt_id = %s", (prompt["prompt_id"],)
    ).fetchone()[0]
    assert prompt_text == properties["text"]


def test_clock_skew_beyond_threshold_shifts_occurred_at(api, db):
    now = datetime.now(UTC)
    phone_clock = now - timedelta(hours=2)  # the phone's clock is two hours behind
    happened = phone_clock - timedelta(minutes=1)
    skewed = event(
        "signup_started",
        {"method": "email"},
        anonymous_id=new_id(),
        timestamp=happened.isoformat(),
        sent_at=phone_clock.isoformat(),
    )
    on_time = event(
        "signup_started",
        {"method": "email"},
        anonymous_id=new_id(),
        timestamp=(now - timedelta(minutes=1)).isoformat(),
        sent_at=(now - timedelta(seconds=2)).isoformat(),
    )
    post(api, {"batch": [skewed, on_time]})
    corrected = stored(db, skewed["event_id"])[3]
    assert abs((corrected - (now - timedelta(minutes=1))).total_seconds()) < 30
    kept = stored(db, on_time["event_id"])[3]
    assert kept == datetime.fromisoformat(on_time["timestamp"])


def test_batch_level_sent_at_applies_to_its_events(api, db):
    now = datetime.now(UTC)
    happened = now - timedelta(days=1, minutes=5)
    sent = event(
        "signup_started", {"method": "email"}, anonymous_id=new_id(), timestamp=happened.isoformat()
    )
    post(api, {"batch": [sent], "sent_at": (now - timedelta(days=1)).isoformat()})
    corrected = stored(db, sent["event_id"])[3]
    assert abs((corrected - (now - timedelta(minutes=5))).total_seconds()) < 30


def test_invalid_bearer_token_is_401_not_anonymous(api, db, tokens):
    sent = event("signup_started", {"method": "email"}, anonymous_id=new_id())
    for header in (
        "Bearer not-a-jwt",
        "Bearer " + TokenCodec("another-key" * 4).issue("u1"),
        "Basic dXNlcjpwYXNz",
    ):
        response = post(api, sent, {"authorization": header})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] in {"token_invalid", "unsupported_auth_scheme"}
    expired = TokenCodec("test-only-signing-key-" + "0" * 32, ttl_s=-10).issue("u1")
    response = post(api, sent, {"authorization": f"Bearer {expired}"})
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")
    assert stored(db, sent["event_id"]) is None


def test_sql_helper_functions_answer_from_events(api, db, tokens):
    user = new_id()
    t0 = datetime.now(UTC) - timedelta(hours=3)
    batch = [
        event("trial_started", {"plan": "pro"}, timestamp=t0.isoformat()),
        event(
            "aha_reached",
            {"trigger": "first_message"},
            timestamp=(t0 + timedelta(minutes=5)).isoformat(),
        ),
        event(
            "purchase_succeeded",
            {"product_id": "pro_monthly"},
            timestamp=(t0 + timedelta(hours=1)).isoformat(),
        ),
    ]
    assert post(api, {"batch": batch}, bearer(tokens, user)).json()["accepted"] == 3
    other = new_id()
    post(api, {"batch": [event("trial_started", {"plan": "pro"})]}, bearer(tokens, other))
    row = db.execute(
        "SELECT get_user_event_count(%(u)s), get_user_event_count(%(u)s, 'aha_reached'), "
        "has_reached_aha_moment(%(u)s), has_converted_from_trial(%(u)s), "
        "has_reached_aha_moment(%(o)s), has_converted_from_trial(%(o)s)",
        {"u": user, "o": other},
    ).fetchone()
    assert row == (3, 1, True, True, False, False)


def test_identity_links_join_a_device_to_its_user(api, db, tokens):
    anon, user = new_id(), new_id()
    signup = event("signup_completed", {"method": "email", "user_id": user}, anonymous_id=anon)
    assert post(api, signup).json()["accepted"] == 1
    second_device = new_id()
    later = event("message_sent", {"contact_id": "c", "channel": "sms"}, anonymous_id=second_device)
    assert post(api, later, bearer(tokens, user)).json()["accepted"] == 1
    links = db.execute(
        "SELECT anonymous_id, source FROM identity_links WHERE user_id = %s ORDER BY source",
        (user,),
    ).fetchall()
    assert links == [(second_device, "event"), (anon, "signup")]
    post(api, later, bearer(tokens, user))  # a duplicate adds no link
    assert (
        db.execute("SELECT count(*) FROM identity_links WHERE user_id = %s", (user,)).fetchone()[0]
        == 2
    )

"""Bad input gets a precise 4xx problem body and stores nothing; limits; an unreachable DB."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import bearer, event, new_id


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith(code.replace("_", "-")) and body["detail"]
    return body


def count_events(db: psycopg.Connection[Any], anon: str) -> int:
    return db.execute(
        "SELECT (SELECT count(*) FROM app_events WHERE anonymous_id = %(a)s)"
        " + (SELECT count(*) FROM quarantined_events WHERE anonymous_id = %(a)s)",
        {"a": anon},
    ).fetchone()[0]


def raw_post(api: httpx.Client, content: bytes, **headers: str) -> httpx.Response:
    return api.post(
        "/v1/ingest", content=content, headers={"content-type": "application/json", **headers}
    )


def test_malformed_json_is_400(api):
    body = assert_problem(raw_post(api, b'{"name": "signup_started",'), 400, "malformed_json")
    assert "JSON" in body["detail"]


def test_empty_body_is_400(api):
    assert_problem(raw_post(api, b""), 400, "empty_body")


def test_wrong_type_names_the_json_path_and_stores_nothing(api, db):
    anon = new_id()
    good = event("signup_started", {"method": "email"}, anonymous_id=anon)
    bad = event("signup_started", {"method": "email"}, anonymous_id=anon)
    bad["name"] = 42
    body = assert_problem(api.post("/v1/ingest", json={"batch": [good, bad]}), 422, "invalid_event")
    assert "$.batch[1].name" in body["detail"]
    assert count_events(db, anon) == 0


def test_body_that_is_not_an_object_is_422(api):
    assert_problem(raw_post(api, b"[1, 2]"), 422, "invalid_body")
    assert_problem(api.post("/v1/ingest", json={"batch": "nope"}), 422, "invalid_body")
    assert_problem(api.post("/v1/ingest", json={"batch": []}), 422, "empty_batch")


def test_bad_event_id_is_422(api):
    sent = event("signup_started", {"method": "email"})
    sent["event_id"] = "not-a-uuid"
    body = assert_problem(api.post("/v1/ingest", json=sent), 422, "invalid_event")
    assert "event_id" in body["detail"]


def test_batch_over_1000_events_is_413(api, db):
    anon = new_id()
    batch = [event("signup_started", {}, anonymous_id=anon) for _ in range(1001)]
    assert_problem(api.post("/v1/ingest", json={"batch": batch}), 413, "batch_too_large")
    assert count_events(db, anon) == 0


def test_body_over_1mb_is_413(api, db):
    anon = new_id()
    big = event("signup_started", {"method": "email", "note": "x" * 1_100_000}, anonymous_id=anon)
    assert_problem(api.post("/v1/ingest", json=big), 413, "payload_too_large")
    assert count_events(db, anon) == 0


def test_gzip_body_is_accepted(api, db):
    anon = new_id()
    batch = [event("signup_started", {"method": "email"}, anonymous_id=anon) for _ in range(5)]
    payload = gzip.compress(json.dumps({"batch": batch}).encode())
    response = raw_post(api, payload, **{"content-encoding": "gzip"})
    assert response.status_code == 200 and response.json()["accepted"] == 5
    assert count_events(db, anon) == 5


def test_gzip_bomb_is_413_not_memory_exhaustion(api):
    # 200 MB of zeros compress to ~200 kB; the cap stops decompression at 1 MB.
    bomb = gzip.compress(b"0" * 200_000_000, compresslevel=9)
    assert len(bomb) < 1_000_000
    assert_problem(raw_post(api, bomb, **{"content-encoding": "gzip"}), 413, "payload_too_large")


def test_corrupt_gzip_is_400(api):
    response = raw_post(api, b"\x1f\x8b\x08\x00garbage", **{"content-encoding": "gzip"})
    assert_problem(response, 400, "malformed_encoding")


def test_unknown_encoding_and_media_type_are_415(api):
    assert_problem(raw_post(api, b"{}", **{"content-encoding": "br"}), 415, "unsupported_encoding")
    response = api.post("/v1/ingest", content=b"name=x", headers={"content-type": "text/plain"})
    assert_problem(response, 415, "unsupported_media_type")


def test_nul_characters_are_removed_not_a_500(api, db):
    anon = new_id()
    sent = event("signup_started", {"method": "email", "note": "a\u0000b"}, anonymous_id=anon)
    response = api.post("/v1/ingest", json=sent)
    assert response.status_code == 200 and response.json()["accepted"] == 1
    note = db.execute(
        "SELECT properties->>'note' FROM app_events WHERE event_id = %s", (sent["event_id"],)
    ).fetchone()[0]
    assert note == "ab"


def test_deeply_nested_props_are_422(api):
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(40):
        cursor["a"] = {}
        cursor = cursor["a"]
    sent = event("signup_started", {"method": "email", "deep": deep})
    assert_problem(api.post("/v1/ingest", json=sent), 422, "too_deep")
    very_deep = b'{"name":"x","props":' + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}"
    assert_problem(raw_post(api, very_deep), 422, "too_deep")


def test_huge_integer_is_quarantined_not_a_500(api, tokens):
    prompt_id = new_id()
    answer = event(
        "ai_response_generated",
        {
            "response_id": new_id(),
            "prompt_id": prompt_id,
            "model": "m",
            "text": "t",
            "tokens_out": 2**70,
        },
    )
    response = api.post("/v1/ingest", json=answer, headers=bearer(tokens, new_id()))
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "quarantined"


def test_rate_limit_counts_events_and_rejects_whole_batch(start_api, db, tokens):
    user, other = new_id(), new_id()
    with start_api(rate_limit_events=50, rate_limit_window_s=3600) as client:
        first = [event("message_sent", {"contact_id": "c", "channel": "sms"}) for _ in range(40)]
        ok = client.post("/v1/ingest", json={"batch": first}, headers=bearer(tokens, user))
        assert ok.json()["accepted"] == 40
        over = [event("message_sent", {"contact_id": "c", "channel": "sms"}) for _ in range(20)]
        refused = client.post("/v1/ingest", json={"batch": over}, headers=bearer(tokens, user))
        body = assert_problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 3600 + 60  # a window and a slot
        assert body["retry_after_s"] == int(refused.headers["retry-after"])
        stored = db.execute(
            "SELECT count(*) FROM app_events WHERE event_id = ANY(%s)",
            ([uuid.UUID(e["event_id"]) for e in over],),
        ).fetchone()[0]
        assert stored == 0
        # The rest of the quota is still there: the refused batch did not consume it.
        ten = [event("message_sent", {"contact_id": "c", "channel": "sms"}) for _ in range(10)]
        assert (
            client.post("/v1/ingest", json={"batch": ten}, headers=bearer(tokens, user)).json()[
                "accepted"
            ]
            == 10
        )
        # Another user has a quota of their own.
        assert (
            client.post("/v1/ingest", json={"batch": over}, headers=bearer(tokens, other)).json()[
                "accepted"
            ]
            == 20
        )


def test_anonymous_events_are_limited_per_anonymous_id(start_api):
    with start_api(rate_limit_events=5, rate_limit_window_s=3600) as client:
        anon = new_id()
        batch = [event("signup_started", {"method": "email"}, anonymous_id=anon) for _ in range(5)]
        assert client.post("/v1/ingest", json={"batch": batch}).status_code == 200
        extra = event("signup_started", {"method": "email"}, anonymous_id=anon)
        assert client.post("/v1/ingest", json=extra).status_code == 429
        fresh = event("signup_started", {"method": "email"}, anonymous_id=new_id())
        assert client.post("/v1/ingest", json=fresh).status_code == 200


@pytest.mark.external
def test_redis_limit_is_shared_by_two_api_processes(start_api, tokens):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    user = new_id()
    with (
        start_api(rate_limit_events=30, rate_limit_window_s=3600, redis_url=url) as one,
        start_api(rate_limit_events=30, rate_limit_window_s=3600, redis_url=url) as two,
    ):
        accepted = 0
        for client in (one, two, one, two):
            batch = [
                event("message_sent", {"contact_id": "c", "channel": "sms"}) for _ in range(10)
            ]
            response = client.post(
                "/v1/ingest", json={"batch": batch}, headers=bearer(tokens, user)
            )
            accepted += response.json()["accepted"] if response.status_code == 200 else 0
        assert accepted == 30


def test_unreachable_database_is_503_with_retry_after(start_api):
    from api.app import create_app
    from api.server import serve_in_thread
    from tests.conftest import make_settings

    dead = "postgresql://postgres@127.0.0.1:1/nowhere"
    settings = make_settings(__import__("pathlib").Path("/tmp/everreach-dead-db"), dead)
    with (
        serve_in_thread(create_app(settings, dead)) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        sent = event("signup_started", {"method": "email"}, anonymous_id=new_id())
        response = client.post("/v1/ingest", json=sent)
        assert_problem(response, 503, "service_unavailable")
        assert response.headers["retry-after"] == "5"
        assert "Traceback" not in response.text
        assert_problem(client.get("/readyz"), 503, "not_ready")
        assert client.get("/healthz").status_code == 200

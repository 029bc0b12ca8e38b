"""Access requests: `GET /v1/me/export` and the admin's `GET /v1/admin/users/{id}/export` stream
everything stored about one person as JSON Lines, and nothing about anyone else."""

from __future__ import annotations

import json
import uuid

import httpx

from everreach.accounts.tokens import TokenCodec
from everreach.privacy.access_export import BATCH_ROWS
from tests.conftest import ApiFactory
from tests.helpers import account_bearer, bearer, event, new_id, prompt_props, response_props
from tests.privacy_support import send


def sign_up(api: httpx.Client) -> tuple[str, str]:
    email = f"export-{uuid.uuid4().hex[:10]}@example.com"
    response = api.post("/v1/auth/signup", json={"email": email, "password": "a long password"})
    assert response.status_code == 201, response.text
    return response.json()["user_id"], email


def export_lines(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def by_table(lines: list[dict]) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {}
    for line in lines:
        tables.setdefault(line["table"], []).append(line["row"])
    return tables


def test_a_person_exports_their_account_events_prompts_and_device_trail_only(
    api: httpx.Client, tokens: TokenCodec, database_url: str
) -> None:
    user_id, email = sign_up(api)
    device = f"device-{new_id()}"
    send(
        api,
        [
            event("signup_started", {"method": "email"}, anonymous_id=device),
            event("signup_completed", {"method": "email", "user_id": user_id}, anonymous_id=device),
        ],
    )
    prompt = prompt_props(text="my own words")
    send(
        api,
        [
            event("prompt_submitted", prompt),
            event("ai_response_generated", response_props(prompt["prompt_id"])),
            event("not_in_the_plan", {}),
        ],
        bearer(tokens, user_id),
    )
    stranger, _ = sign_up(api)
    send(api, [event("prompt_submitted", prompt_props(text="not yours"))], bearer(tokens, stranger))

    lines = export_lines(api.get("/v1/me/export", headers=bearer(tokens, user_id)))
    assert lines[0]["table"] == "export" and lines[0]["row"]["user_id"] == user_id
    tables = by_table(lines[1:])
    assert tables["users"] == [
        {
            "user_id": user_id,
            "email": email,
            "role": "user",
            "created_at": tables["users"][0]["created_at"],
            "password_changed_at": tables["users"][0]["password_changed_at"],
        }
    ]
    assert sorted(e["event_name"] for e in tables["app_events"]) == [
        "ai_response_generated",
        "prompt_submitted",
        "signup_completed",
        "signup_started",
    ]
    assert [p["text"] for p in tables["prompts"]] == ["my own words"]
    assert len(tables["responses"]) == 1
    assert [q["event_name"] for q in tables["quarantined_events"]] == ["not_in_the_plan"]
    assert {(link["anonymous_id"], link["user_id"]) for link in tables["identity_links"]} == {
        (device, user_id)
    }
    assert stranger not in json.dumps(lines) and "not yours" not in json.dumps(lines)
    assert "password_hash" not in json.dumps(lines)

    admin = account_bearer(tokens, database_url, role="admin")
    as_admin = export_lines(api.get(f"/v1/admin/users/{user_id}/export", headers=admin))
    assert as_admin[1:] == lines[1:]


def test_exports_are_for_the_person_or_an_admin(
    api: httpx.Client, tokens: TokenCodec, database_url: str
) -> None:
    assert api.get("/v1/me/export").status_code == 401
    someone = new_id()
    refused = api.get(
        f"/v1/admin/users/{someone}/export", headers=account_bearer(tokens, database_url)
    )
    assert refused.status_code == 403


def test_a_long_history_is_streamed_in_batches_not_built_in_memory(
    start_api: ApiFactory, tokens: TokenCodec
) -> None:
    user_id = f"sdk-user-{new_id()}"  # a distinct id without an account
    events = [event("not_in_the_plan", {"n": n}) for n in range(BATCH_ROWS * 2 + 10)]
    with start_api(rate_limit_events=1_000_000) as api:
        for start in range(0, len(events), 500):
            send(api, events[start : start + 500], bearer(tokens, user_id))
        rows = _streamed_rows(api, bearer(tokens, user_id))
    assert rows == 1 + len(events)  # the header line and one line per quarantined event


def _streamed_rows(api: httpx.Client, headers: dict[str, str]) -> int:
    with api.stream("GET", "/v1/me/export", headers=headers) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, length unknown up front
        assert response.headers.get("transfer-encoding") == "chunked"
        return sum(chunk.count(b"\n") for chunk in response.iter_bytes())

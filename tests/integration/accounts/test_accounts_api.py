"""Accounts over HTTP against real Postgres: sign-up, log-in, the token rules every guarded route
shares (api.auth), admin versus user, the create-admin command, and /v1/me/events."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.helpers import event

PASSWORD = "correct horse 1"
ME = "/v1/me/events"
EXPORT = "/v1/export/ml-dump"


def new_email() -> str:
    return f"acct-{uuid.uuid4().hex[:12]}@example.com"


def signup(api: httpx.Client, email: str | None = None, password: str = PASSWORD) -> dict:
    response = api.post(
        "/v1/auth/signup", json={"email": email or new_email(), "password": password}
    )
    assert response.status_code == 201, response.text
    return response.json()


def login(api: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api.post("/v1/auth/login", json={"email": email, "password": password})


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def token_of(api: httpx.Client, email: str, password: str = PASSWORD) -> str:
    response = login(api, email, password)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def create_admin(
    database_url: str, home: Path, email: str, *, env_password: str | None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`everreach create-admin` in a process of its own, with no terminal (as in CI)."""
    env = {**os.environ, "EVERREACH_DATABASE_URL": database_url, "EVERREACH_HOME": str(home)}
    env.pop("EVERREACH_ADMIN_PASSWORD", None)
    if env_password is not None:
        env["EVERREACH_ADMIN_PASSWORD"] = env_password
    return subprocess.run(
        [sys.executable, "-m", "everreach_cli", "create-admin", email],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: the prompt reads stdin
    )


@pytest.fixture(scope="module")
def admin_email(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    email = new_email()
    result = create_admin(
        database_url, tmp_path_factory.mktemp("cli"), email, env_password="admin password 1"
    )
    assert result.returncode == 0, result.stderr
    assert f"created admin {email}" in result.stdout
    return email


def test_signup_then_login_issues_a_short_lived_token_with_the_accounts_claims(api, tokens):
    account = signup(api, "Mixed.Case@Example.COM")
    assert account["email"] == "Mixed.Case@example.com" and account["role"] == "user"
    response = login(api, "mixed.case@example.com")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = tokens.verify(body["access_token"])
    assert (claims.sub, claims.role) == (account["user_id"], "user")
    assert claims.exp - claims.iat == pytest.approx(900) == body["expires_in"]


def test_signup_refuses_a_taken_email_a_bad_email_and_bad_passwords(api):
    email = new_email()
    signup(api, email)
    taken = api.post("/v1/auth/signup", json={"email": email.upper(), "password": PASSWORD})
    assert (taken.status_code, taken.json()["code"]) == (409, "email_taken")
    for body, code in [
        ({"email": "nope", "password": PASSWORD}, "invalid_email"),
        ({"email": new_email(), "password": "short"}, "password_too_short"),
        ({"email": new_email(), "password": "p" * 129}, "password_too_long"),
    ]:
        refused = api.post("/v1/auth/signup", json=body)
        assert (refused.status_code, refused.json()["code"]) == (400, code)


def test_wrong_password_and_unknown_email_get_the_same_401(api):
    email = new_email()
    signup(api, email)
    wrong = login(api, email, "not the password")
    unknown = login(api, new_email())
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"


def forge(payload: dict, key: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def test_bad_tokens_are_refused_by_every_guarded_route(api, tokens):
    user_id = signup(api)["user_id"]
    now = time.time()
    good = {"sub": user_id, "role": "user", "iat": now, "exp": now + 600}
    header, payload, signature = tokens.issue(user_id).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    cases = {
        "alg none": (jwt.encode(good, None, algorithm="none"), "token_invalid"),
        "wrong key": (forge(good, key="another-key-" + "x" * 32), "token_invalid"),
        "expired": (forge({**good, "iat": now - 600, "exp": now - 1}), "token_expired"),
        "missing sub": (
            forge({k: v for k, v in good.items() if k != "sub"}),
            "token_claim_missing",
        ),
        "tampered": (f"{header}.{tampered}.{signature}", "token_invalid"),
    }
    for name, (token, code) in cases.items():
        for method, path in [("GET", ME), ("POST", EXPORT), ("POST", "/v1/ingest")]:
            body = event("message_sent", {"contact_id": "c", "channel": "sms"})
            refused = api.request(method, path, headers=auth(token), json=body)
            assert (refused.status_code, refused.json()["code"]) == (401, code), (name, path)
            assert refused.headers["www-authenticate"].startswith("Bearer")
    for method, path in [("GET", ME), ("POST", EXPORT)]:
        missing = api.request(method, path)
        assert (missing.status_code, missing.json()["code"]) == (401, "authentication_required")


def test_a_user_is_403_on_admin_routes_and_an_admin_is_let_in(api, admin_email):
    user = signup(api)
    user_token = token_of(api, user["email"])
    admin_token = token_of(api, admin_email, "admin password 1")
    role_path = f"/v1/admin/users/{user['user_id']}/role"
    for method, path, body in [("POST", EXPORT, None), ("PUT", role_path, {"role": "admin"})]:
        refused = api.request(method, path, headers=auth(user_token), json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "admin_required"), path
        assert api.request(method, path, json=body).status_code == 401
    assert api.post(EXPORT, headers=auth(admin_token)).status_code == 200


def test_a_role_change_revokes_the_accounts_earlier_tokens(api, admin_email):
    user = signup(api)
    before = token_of(api, user["email"])
    admin = auth(token_of(api, admin_email, "admin password 1"))
    path = f"/v1/admin/users/{user['user_id']}/role"
    promoted = api.put(path, json={"role": "admin"}, headers=admin)
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    stale = api.get(ME, headers=auth(before))
    assert (stale.status_code, stale.json()["code"]) == (401, "token_revoked")
    after = token_of(api, user["email"])
    assert api.post(EXPORT, headers=auth(after)).status_code == 200
    assert api.put(path, json={"role": "owner"}, headers=admin).status_code == 400
    unknown = api.put(f"/v1/admin/users/{uuid.uuid4()}/role", json={"role": "user"}, headers=admin)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "account_not_found")


def test_create_admin_reads_a_hidden_prompt_and_promotes_an_existing_account(
    api, database_url, tmp_path, db
):
    user = signup(api)
    old_token = token_of(api, user["email"])
    mismatch = "new admin pass 1\nsomething else\n"
    result = create_admin(
        database_url,
        tmp_path,
        user["email"],
        env_password=None,
        stdin=mismatch + "new admin pass 1\nnew admin pass 1\n",
    )
    assert result.returncode == 0, result.stderr
    assert f"promoted admin {user['email']}" in result.stdout
    assert "new admin pass 1" not in result.stdout + result.stderr
    role, password_hash = db.execute(
        "SELECT role, password_hash FROM users WHERE user_id = %s", (user["user_id"],)
    ).fetchone()
    assert role == "admin" and password_hash.startswith("$argon2id$")
    assert login(api, user["email"]).status_code == 401
    assert api.get(ME, headers=auth(old_token)).status_code == 401
    assert login(api, user["email"], "new admin pass 1").json()["role"] == "admin"
    short = create_admin(database_url, tmp_path, new_email(), env_password="short")
    assert short.returncode != 0 and "at least 8 characters" in short.stderr


def test_me_events_pages_through_the_callers_events_only(api):
    owner, other = signup(api), signup(api)
    owner_auth, other_auth = (
        auth(token_of(api, owner["email"])),
        auth(token_of(api, other["email"])),
    )
    sent = [event("message_sent", {"contact_id": f"c{i}", "channel": "sms"}) for i in range(5)]
    assert api.post("/v1/ingest", json={"batch": sent}, headers=owner_auth).json()["accepted"] == 5
    theirs = [event("message_sent", {"contact_id": "x", "channel": "sms"}) for _ in range(2)]
    assert api.post("/v1/ingest", json={"batch": theirs}, headers=other_auth).status_code == 200

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get(ME, params=params, headers=owner_auth).json()
        seen += [e["event_id"] for e in page["events"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    newest_first = sorted(sent, key=lambda e: e["timestamp"], reverse=True)
    assert seen == [e["event_id"] for e in newest_first]

    for params, code in [({"cursor": "garbage!"}, "invalid_cursor"), ({"limit": 0}, None)]:
        refused = api.get(ME, params=params, headers=owner_auth)
        assert refused.status_code == 400 and (code is None or refused.json()["code"] == code)

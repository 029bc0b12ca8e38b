"""Deleted accounts and admins: a deleted account's tokens are refused at once on every API
process, an account token for an unknown user is no one (whatever role it claims), and the
last admin cannot stop being one."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from api.app import create_app
from api.server import serve_in_thread
from everreach.platform.migrations import scratch_database
from tests.conftest import make_settings
from tests.helpers import account_bearer, event

ME = "/v1/me/events"
EXPORT = "/v1/export/ml-dump"
PASSWORD = "correct horse 1"


def signup_and_login(api: httpx.Client) -> tuple[str, dict[str, str]]:
    email = f"life-{uuid.uuid4().hex[:12]}@example.com"
    user = api.post("/v1/auth/signup", json={"email": email, "password": PASSWORD}).json()
    token = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    return user["user_id"], {"authorization": f"Bearer {token['access_token']}"}


def ingest(api: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return api.post(
        "/v1/ingest",
        json=event("message_sent", {"contact_id": "c", "channel": "sms"}),
        headers=headers,
    )


def delete_user(database_url: str, user_id: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE user_id = %s", (user_id,))


def test_a_deleted_accounts_tokens_are_refused_at_once_on_every_process(start_api, database_url):
    with start_api() as first, start_api() as second:
        user_id, headers = signup_and_login(first)
        for api in (first, second):  # both processes have seen (and cached) the account
            assert ingest(api, headers).status_code == 200
            assert api.get(ME, headers=headers).status_code == 200
        delete_user(database_url, user_id)
        for api in (first, second):
            refused = api.get(ME, headers=headers)
            assert (refused.status_code, refused.json()["code"]) == (401, "account_not_found")
        with start_api() as third:  # a process that never saw the account
            refused = ingest(third, headers)
            assert (refused.status_code, refused.json()["code"]) == (401, "account_not_found")


def test_the_collector_refuses_a_deleted_account_after_its_short_cache(start_api, database_url):
    with start_api(credentials_cache_s=0.2) as api:
        user_id, headers = signup_and_login(api)
        assert ingest(api, headers).status_code == 200
        delete_user(database_url, user_id)
        threading.Event().wait(0.3)
        for _ in range(3):  # "no account" is never cached as a pass
            refused = ingest(api, headers)
            assert (refused.status_code, refused.json()["code"]) == (401, "account_not_found")


def test_an_account_token_for_an_unknown_user_claiming_admin_is_refused(api, tokens):
    forged_role = {"authorization": f"Bearer {tokens.issue(str(uuid.uuid4()), role='admin')}"}
    for method, path in [("POST", EXPORT), ("GET", ME), ("POST", "/v1/ingest")]:
        refused = api.request(method, path, headers=forged_role, json={"name": "x"})
        assert (refused.status_code, refused.json()["code"]) == (401, "account_not_found"), path


@pytest.fixture
def lone_api(pg_server_url: str, tmp_path) -> Iterator[tuple[httpx.Client, str]]:
    """An API on a database of its own, where the test decides who the admins are."""
    with scratch_database(pg_server_url, "everreach_admins") as url:
        settings = make_settings(tmp_path, url)
        with (
            serve_in_thread(create_app(settings, url)) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as client,
        ):
            yield client, url


def role_of(api: httpx.Client, actor: dict[str, str], user_id: str, role: str) -> httpx.Response:
    return api.put(f"/v1/admin/users/{user_id}/role", json={"role": role}, headers=actor)


def subject(headers: dict[str, str], tokens) -> str:
    return tokens.verify(headers["authorization"].split()[1]).sub


def test_the_last_admin_cannot_demote_itself(lone_api, tokens):
    api, url = lone_api
    admin = account_bearer(tokens, url, role="admin")
    admin_id = subject(admin, tokens)
    refused = role_of(api, admin, admin_id, "user")
    assert (refused.status_code, refused.json()["code"]) == (409, "last_admin")
    assert api.post(EXPORT, headers=admin).status_code == 200  # still an admin

    other = account_bearer(tokens, url, role="user")
    assert role_of(api, admin, subject(other, tokens), "admin").status_code == 200
    assert role_of(api, admin, admin_id, "user").status_code == 200  # no longer the last


def test_two_admins_demoting_each_other_at_once_leave_one_admin(lone_api, tokens):
    api, url = lone_api
    for _ in range(5):
        pair = [account_bearer(tokens, url, role="admin") for _ in range(2)]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE users SET role = 'user' WHERE role = 'admin' AND user_id <> ALL(%s)",
                ([uuid.UUID(subject(h, tokens)) for h in pair],),
            )
        with ThreadPoolExecutor(2) as pool:
            demotions = [
                pool.submit(role_of, api, me, subject(them, tokens), "user")
                for me, them in (pair, pair[::-1])
            ]
            statuses = [demotion.result().status_code for demotion in demotions]
        assert sorted(statuses) in ([200, 401], [200, 409]), statuses
        with psycopg.connect(url, autocommit=True) as conn:
            admins = conn.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone()
        assert admins[0] == 1

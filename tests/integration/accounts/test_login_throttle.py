"""Log-in throttling over real HTTP: per address from one client, per client, per address from
everywhere, shared between API processes through Redis; 429 with Retry-After before any Argon2
work; a person at their own address is not locked out by failures from another one."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis

from everreach.accounts.passwords import PasswordHasher
from everreach.platform.rate_limit import SLOTS

PASSWORD = "correct horse 1"
REDIS_URL = "redis://127.0.0.1:6379/0"


def new_email() -> str:
    return f"throttle-{uuid.uuid4().hex[:12]}@example.com"


@contextmanager
def from_address(base_url: str, address: str) -> Iterator[httpx.Client]:
    """A client whose connections leave from `address` (any of 127.0.0.0/8 reaches the API)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base_url, transport=transport, timeout=30) as client:
        yield client


def login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def signup(client: httpx.Client) -> str:
    email = new_email()
    response = client.post("/v1/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


def assert_throttled(response: httpx.Response, window_s: int) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "login_throttled"
    retry_after = int(response.headers["retry-after"])
    # The sliding window counts in 1/60-window slots: the newest slot frees one slot after the
    # window has passed it, so a wait is at most the window plus one slot.
    assert 1 <= retry_after <= window_s + -(-window_s // SLOTS)
    assert response.json()["retry_after_s"] == retry_after
    return retry_after


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the hasher's Argon2 work (instrumentation: the real work still runs)."""
    counts: Counter[str] = Counter()
    original = PasswordHasher._in_thread

    async def counted(self: Any, work: Any, *args: str) -> Any:
        counts["argon2"] += 1
        return await original(self, work, *args)

    monkeypatch.setattr(PasswordHasher, "_in_thread", counted)
    return counts


def test_failed_logins_for_one_account_from_one_client_are_throttled(start_api, argon2_calls):
    with start_api(login_limit_per_pair=3, login_limit_window_s=60) as api:
        email = signup(api)
        with from_address(str(api.base_url), "127.0.0.2") as attacker:
            for _ in range(3):
                assert login(attacker, email, "wrong password").status_code == 401
            argon2_calls.clear()
            assert_throttled(login(attacker, email, "wrong password"), 60)
            assert_throttled(login(attacker, email, PASSWORD), 60)  # even the right one, for now
            assert argon2_calls["argon2"] == 0  # a refused attempt costs no hash
        with from_address(str(api.base_url), "127.0.0.3") as owner:
            assert login(owner, email, PASSWORD).status_code == 200  # not locked out elsewhere


def test_unknown_and_known_addresses_are_throttled_alike(start_api):
    with start_api(login_limit_per_pair=2) as api:
        known, unknown = signup(api), new_email()
        answers = []
        for email in (known, unknown):
            statuses = [login(api, email, "wrong password").status_code for _ in range(3)]
            answers.append(statuses)
        assert answers[0] == answers[1] == [401, 401, 429]


def test_one_client_trying_many_accounts_is_throttled(start_api):
    with start_api(login_limit_per_ip=4) as api:
        with from_address(str(api.base_url), "127.0.0.4") as sprayer:
            statuses = [login(sprayer, new_email(), "Password123!").status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 401, 429]
        with from_address(str(api.base_url), "127.0.0.5") as other:
            assert login(other, new_email(), "Password123!").status_code == 401


def test_many_clients_on_one_account_are_throttled_per_account(start_api):
    with start_api(login_limit_per_account=4, login_limit_account_window_s=300) as api:
        email = signup(api)
        statuses = []
        for host in range(10, 15):
            with from_address(str(api.base_url), f"127.0.0.{host}") as client:
                statuses.append(login(client, email, "wrong password").status_code)
        assert statuses == [401, 401, 401, 401, 429]
        with from_address(str(api.base_url), "127.0.0.20") as client:
            assert_throttled(login(client, email, PASSWORD), 300)


def test_two_api_instances_share_the_limit_through_redis(start_api):
    """Two apps with limiters of their own, as two processes have, meet one limit in Redis."""
    redis.Redis.from_url(REDIS_URL).ping()
    settings = {"redis_url": REDIS_URL, "login_limit_per_pair": 4}
    with start_api(**settings) as first, start_api(**settings) as second:
        email = signup(first)
        statuses = [
            login(api, email, "wrong password").status_code
            for api in (first, second, first, second, first, second)
        ]
    assert statuses == [401, 401, 401, 401, 429, 429]

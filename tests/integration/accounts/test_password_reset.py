"""Password reset by email, end to end over HTTP against real Postgres and real mail receivers.

Each flow: request → the email (file backend, a local SMTP server, a local stand-in for Resend's
API) → the page it links to → perform → log in with the new password; the old password and every
token issued before the reset are refused.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.server import api_subprocess, free_port
from everreach.accounts import password_reset
from everreach.accounts.background import JobQueue
from everreach.accounts.passwords import PasswordHasher
from everreach.platform.rate_limit import SLOTS
from tests.helpers import event
from tests.mail_capture import (
    file_mails,
    parts,
    resend_stand_in,
    reset_link,
    smtp_server,
    wait_until,
)

APP_URL = "https://app.everreach.test"
OLD_PASSWORD = "old password 1"
ACCEPTED = {
    "status": "accepted",
    "detail": "If an account uses this address, a reset link is on its way.",
}


def new_email() -> str:
    return f"reset-{uuid.uuid4().hex[:12]}@example.com"


def signup(client: httpx.Client, password: str = OLD_PASSWORD) -> tuple[str, str]:
    email = new_email()
    response = client.post("/v1/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["user_id"], email


def login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def bearer_of(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = login(client, email, password)
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def request_reset(client: httpx.Client, email: str, **kwargs: Any) -> httpx.Response:
    response = client.post("/v1/auth/request-reset", json={"email": email}, **kwargs)
    assert (response.status_code, response.json()) == (202, ACCEPTED)
    return response


def perform(client: httpx.Client, token: str, password: str) -> httpx.Response:
    return client.post("/v1/auth/perform-reset", json={"token": token, "password": password})


def file_token(home: Path, email: str, nth: int = 1) -> str:
    """The token of the `nth` reset email the file backend wrote for `email`."""
    mails = wait_until(
        lambda: [m for m in file_mails(home, email) if "Reset" in m["Subject"]][nth - 1 :],
        f"reset email #{nth} to {email}",
    )
    return reset_link(parts(mails[0])[0])[1]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reset-home")


@pytest.fixture(scope="module")
def client(start_api, home: Path) -> Iterator[httpx.Client]:
    """The API with the default (file) mail backend under `home`."""
    with start_api(home=home, app_url=APP_URL) as api_client:
        yield api_client


def assert_reset_email(text: str, html: str) -> str:
    """The email's content rules; returns the link."""
    link, token = reset_link(text)
    assert link.startswith(f"{APP_URL}/reset-password?token=")
    assert len(token) == 64
    assert f'href="{link}"' in html and 'class="button"' in html
    assert 'name="viewport"' in html and "@media" in html  # responsive
    assert "EverReach" in html and "expires in 30 minutes" in html
    assert "expires in 30 minutes" in text
    return link


def complete_reset(client: httpx.Client, link: str, email: str, new_password: str) -> None:
    """Open the page the email links to, submit its form, log in with the new password."""
    path = link.removeprefix(APP_URL)
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in page.headers["cache-control"]
    token = reset_link(link)[1]
    assert f'value="{token}"' in page.text and 'action="/v1/auth/perform-reset"' in page.text
    assert perform(client, token, new_password).json()["status"] == "password_changed"
    assert login(client, email, new_password).status_code == 200


def test_full_flow_through_the_file_backend(client, home, db, tokens):
    user_id, email = signup(client)
    old_bearer = bearer_of(client, email, OLD_PASSWORD)
    collect = event("message_sent", {"contact_id": "c1", "channel": "sms"})
    assert client.post("/v1/ingest", json=collect, headers=old_bearer).status_code == 200

    request_reset(client, email, headers={"host": "evil.example"})
    (message,) = wait_until(lambda: file_mails(home, email), "the reset email")
    text, html = parts(message)
    link = assert_reset_email(text, html)
    assert "evil.example" not in text + html
    token = reset_link(link)[1]

    stored = db.execute(
        "SELECT token_hash, expires_at - created_at, used_at FROM password_resets"
        " WHERE user_id = %s",
        (user_id,),
    ).fetchall()
    assert stored == [(hashlib.sha256(bytes.fromhex(token)).digest(), timedelta(minutes=30), None)]

    complete_reset(client, link, email, "brand new password")

    assert login(client, email, OLD_PASSWORD).json()["code"] == "invalid_credentials"
    for method, path, body in [
        ("GET", "/v1/me/events", None),
        ("POST", "/v1/ingest", event("message_sent", {"contact_id": "c", "channel": "sms"})),
    ]:
        refused = client.request(method, path, json=body, headers=old_bearer)
        assert (refused.status_code, refused.json()["code"]) == (401, "token_revoked")
    new_bearer = bearer_of(client, email, "brand new password")
    assert client.get("/v1/me/events", headers=new_bearer).status_code == 200
    assert client.post("/v1/ingest", json=collect, headers=new_bearer).status_code == 200

    changed = wait_until(
        lambda: [m for m in file_mails(home, email) if "changed" in m["Subject"]],
        "the password-changed email",
    )
    changed_text, changed_html = parts(changed[0])
    assert "was changed" in changed_text and "EverReach" in changed_html
    assert token not in changed_text + changed_html
    (password_hash,) = db.execute(
        "SELECT password_hash FROM users WHERE user_id = %s", (user_id,)
    ).fetchone()
    assert password_hash.startswith("$argon2id$")
    assert db.execute(
        "SELECT count(*) FROM password_resets WHERE user_id = %s", (user_id,)
    ).fetchone() == (0,)


def test_full_flow_through_a_local_smtp_server(start_api, tmp_path):
    with (
        smtp_server() as inbox,
        start_api(
            home=tmp_path,
            app_url=APP_URL,
            mail_backend="smtp",
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            smtp_security="none",
        ) as client,
    ):
        _, email = signup(client)
        request_reset(client, email)
        (message,) = wait_until(lambda: inbox.to(email), "the reset email over SMTP")
        assert message["From"] == "EverReach <noreply@everreach.app>"
        link = assert_reset_email(*parts(message))
        complete_reset(client, link, email, "smtp new password")
        assert login(client, email, OLD_PASSWORD).status_code == 401
        wait_until(lambda: len(inbox.to(email)) == 2, "the password-changed email over SMTP")
    assert not list(tmp_path.glob("mail/*.eml"))


def test_full_flow_through_a_stand_in_for_resends_api(start_api, tmp_path):
    with (
        resend_stand_in() as resend,
        start_api(
            home=tmp_path,
            app_url=APP_URL,
            RESEND_API_KEY="re_test_key",
            RESEND_API_BASE_URL=resend.base_url,
            FROM_EMAIL="EverReach <hello@everreach.test>",
        ) as client,
    ):
        _, email = signup(client)
        request_reset(client, email)
        (sent,) = wait_until(lambda: resend.emails_to(email), "the reset email via Resend")
        path, headers, _ = resend.requests[0]
        assert path == "/emails" and headers["Authorization"] == "Bearer re_test_key"
        assert sent["from"] == "EverReach <hello@everreach.test>"
        assert sent["subject"] == "Reset your EverReach password"
        link = assert_reset_email(sent["text"], sent["html"])
        complete_reset(client, link, email, "resend new password")
        wait_until(lambda: len(resend.emails_to(email)) == 2, "the password-changed email")


def counting(function: Any, counts: Counter[str], name: str) -> Any:
    """Delegates to `function`, counting calls (instrumentation, not a stand-in)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return function(*args, **kwargs)

    return wrapper


def test_unknown_email_gets_the_same_answer_and_the_same_work(client, home, monkeypatch):
    counts: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    issue = password_reset.PasswordResets._issue

    async def issue_counted(self: Any, email: str) -> None:
        await issue(self, email)
        finished["jobs"] += 1

    monkeypatch.setattr(
        password_reset, "hash_token", counting(password_reset.hash_token, counts, "hash")
    )
    monkeypatch.setattr(JobQueue, "submit", counting(JobQueue.submit, counts, "queue"))
    monkeypatch.setattr(password_reset.PasswordResets, "_issue", issue_counted)
    _, known = signup(client)

    observed = []
    for email in (known, new_email()):
        counts.clear()
        finished.clear()
        response = request_reset(client, email)
        wait_until(lambda: finished["jobs"] == 1, "the reset job")
        observed.append((response.status_code, response.content, dict(counts)))
    assert observed[0] == observed[1]
    assert observed[0][2] == {"hash": 1, "queue": 1}
    assert len(file_mails(home, known)) == 1


def test_malformed_email_is_a_400(client):
    for bad in ["not-an-email", "a@", "@example.com", "two@@example.com", ""]:
        response = client.post("/v1/auth/request-reset", json={"email": bad})
        assert (response.status_code, response.json()["code"]) == (400, "invalid_email"), bad
    assert client.post("/v1/auth/request-reset", json={}).status_code == 400


def test_expired_token_is_refused_and_changes_nothing(client, home, db):
    user_id, email = signup(client)
    request_reset(client, email)
    token = file_token(home, email)
    db.execute(
        "UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE user_id = %s",
        (user_id,),
    )
    refused = perform(client, token, "never applied 1")
    assert (refused.status_code, refused.json()["code"]) == (400, "reset_token_expired")
    assert login(client, email, OLD_PASSWORD).status_code == 200


def test_a_newer_request_invalidates_the_earlier_token(client, home):
    _, email = signup(client)
    request_reset(client, email)
    first = file_token(home, email, 1)
    request_reset(client, email)
    second = file_token(home, email, 2)
    refused = perform(client, first, "never applied 1")
    assert (refused.status_code, refused.json()["code"]) == (400, "reset_token_used")
    assert perform(client, second, "second new password").status_code == 200


def test_a_used_token_cannot_be_replayed(client, home):
    _, email = signup(client)
    request_reset(client, email)
    token = file_token(home, email)
    assert perform(client, token, "first new password").status_code == 200
    replay = perform(client, token, "replayed password")
    assert (replay.status_code, replay.json()["code"]) == (400, "reset_token_invalid")
    assert login(client, email, "replayed password").status_code == 401
    assert login(client, email, "first new password").status_code == 200


def test_concurrent_double_submit_exactly_one_wins(client, home):
    _, email = signup(client)
    request_reset(client, email)
    token = file_token(home, email)
    start = threading.Barrier(2)
    results: dict[str, httpx.Response] = {}

    def submit(password: str) -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=60) as own:
            start.wait()
            results[password] = perform(own, token, password)

    threads = [threading.Thread(target=submit, args=(p,)) for p in ("racer one 1", "racer two 2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(response.status_code for response in results.values())
    assert statuses == [200, 400]
    (winner,) = [p for p, response in results.items() if response.status_code == 200]
    (loser,) = [p for p, response in results.items() if response.status_code == 400]
    assert results[loser].json()["code"] in {"reset_token_used", "reset_token_invalid"}
    assert login(client, email, winner).status_code == 200
    assert login(client, email, loser).status_code == 401


def test_a_token_resets_only_its_own_account(client, home):
    _, email_a = signup(client)
    _, email_b = signup(client)
    bearer_a = bearer_of(client, email_a, OLD_PASSWORD)
    request_reset(client, email_b)
    token_b = file_token(home, email_b)
    response = client.post(
        "/v1/auth/perform-reset",
        json={"token": token_b, "password": "b's new password"},
        headers=bearer_a,  # the caller's identity plays no part: the token names the account
    )
    assert response.status_code == 200
    assert login(client, email_b, "b's new password").status_code == 200
    assert login(client, email_a, OLD_PASSWORD).status_code == 200
    assert login(client, email_a, "b's new password").status_code == 401
    assert client.get("/v1/me/events", headers=bearer_a).status_code == 200


def test_password_length_is_8_to_128_and_a_refusal_keeps_the_token(client, home):
    _, email = signup(client)
    request_reset(client, email)
    token = file_token(home, email)
    for password, code in [("7 chars", "password_too_short"), ("x" * 129, "password_too_long")]:
        refused = perform(client, token, password)
        assert (refused.status_code, refused.json()["code"]) == (400, code)
    assert perform(client, token, "y" * 128).status_code == 200
    assert login(client, email, "y" * 128).status_code == 200
    for password, code in [("", "password_too_short"), ("z" * 129, "password_too_long")]:
        refused = client.post("/v1/auth/signup", json={"email": new_email(), "password": password})
        assert (refused.status_code, refused.json()["code"]) == (400, code)


def test_malformed_tokens_are_refused(client):
    for token in ["", "abc", "g" * 64, "0" * 63, "0" * 65]:
        refused = perform(client, token, "long enough 1")
        assert (refused.status_code, refused.json()["code"]) == (400, "reset_token_invalid")
    unknown = perform(client, "0" * 64, "long enough 1")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "reset_token_invalid")
    page = client.get("/reset-password", params={"token": "<script>"})
    assert page.status_code == 400 and "<script>" not in page.text.split("<main>")[1]


def test_rate_limits_answer_the_same_and_queue_nothing(start_api, tmp_path, monkeypatch):
    counts: Counter[str] = Counter()
    monkeypatch.setattr(JobQueue, "submit", counting(JobQueue.submit, counts, "queue"))
    with start_api(home=tmp_path, reset_limit_per_email=2, reset_limit_per_ip=3) as client:
        _, email = signup(client)
        for _ in range(3):
            request_reset(client, email)  # the third is over the per-email limit
        assert counts["queue"] == 2
        request_reset(client, new_email())  # the fourth from this IP is over the per-IP limit
        assert counts["queue"] == 2
        wait_until(lambda: len(file_mails(tmp_path, email)) == 2, "two reset emails")


def test_a_failed_send_is_logged_without_the_token_and_the_answer_is_unchanged(
    database_url, tmp_path
):
    """The API in a process of its own, so its whole log can be read back."""
    port = free_port()
    with resend_stand_in(status=500) as resend:
        env = {
            "EVERREACH_DATABASE_URL": database_url,
            "EVERREACH_HOME": str(tmp_path),
            "EVERREACH_LOG_FORMAT": "json",
            "EVERREACH_APP_URL": APP_URL,
            "RESEND_API_KEY": "re_failing",
            "RESEND_API_BASE_URL": resend.base_url,
        }
        args = ["-m", "everreach_cli", "serve", "--port", str(port)]
        with (
            api_subprocess(args, {**os.environ, **env}, port) as process,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
        ):
            _, email = signup(client)
            request_reset(client, email)
            (attempt,) = wait_until(lambda: resend.emails_to(email), "the failed send")
        assert process.stderr is not None
        log = process.stderr.read().decode()
    token = reset_link(attempt["text"])[1]
    assert "mail not sent" in log and "Resend answered HTTP 500" in log
    assert token not in log and email not in log


def test_perform_checks_the_token_before_hashing_and_is_rate_limited(
    start_api, tmp_path, monkeypatch
):
    counts: Counter[str] = Counter()
    monkeypatch.setattr(
        PasswordHasher, "hash", counting_async(PasswordHasher.hash, counts, "argon2")
    )
    with start_api(home=tmp_path, reset_limit_per_ip=3) as client:
        for token in ("0" * 64, "1" * 64, "2" * 64):
            refused = perform(client, token, "long enough 1")
            assert (refused.status_code, refused.json()["code"]) == (400, "reset_token_invalid")
        assert counts["argon2"] == 0  # unknown tokens cost a lookup, never a hash
        throttled = perform(client, "3" * 64, "long enough 1")
        assert (throttled.status_code, throttled.json()["code"]) == (429, "reset_throttled")
        # a sliding window of 1/60-window slots: at most the window plus one slot
        assert 1 <= int(throttled.headers["retry-after"]) <= 900 + 900 // SLOTS


def counting_async(function: Any, counts: Counter[str], name: str) -> Any:
    """Delegates to the coroutine function `function`, counting calls (instrumentation)."""

    @wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return await function(*args, **kwargs)

    return wrapper

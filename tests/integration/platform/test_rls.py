"""Row-level security checked in SQL, as the API's roles see the tables (migration 0002).

The test connection is the superuser, which bypasses RLS; each check switches role for one
transaction exactly as `everreach.platform.rls` does, so what is
asserted is what the policies allow.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import errors

from everreach.accounts.password_reset import hash_token, new_reset_token

TABLES = ("app_events", "prompts", "responses")


def as_role(db: psycopg.Connection[Any], role: str, user_id: str | None = None) -> None:
    db.execute(f"SET LOCAL ROLE {role}")
    if user_id is not None:
        db.execute("SELECT set_config('everreach.user_id', %s, true)", (user_id,))


@pytest.fixture
def two_users(db: psycopg.Connection[Any]) -> tuple[str, str]:
    """Users A and B with one event, prompt and response each, plus a reset token for A."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    for user in (a, b):
        prompt = uuid.uuid4()
        db.execute(
            "INSERT INTO app_events (event_id, event_name, user_id, occurred_at)"
            " VALUES (%s, 'message_sent', %s, %s)",
            (uuid.uuid4(), user, now),
        )
        db.execute(
            "INSERT INTO prompts (prompt_id, user_id, text, created_at) VALUES (%s, %s, 'p', %s)",
            (prompt, user, now),
        )
        db.execute(
            "INSERT INTO responses (response_id, prompt_id, user_id, text, created_at)"
            " VALUES (%s, %s, %s, 'r', %s)",
            (uuid.uuid4(), prompt, user, now),
        )
    db.execute(
        "INSERT INTO users (user_id, email, password_hash) VALUES (%s, %s, 'x')",
        (a, f"rls-{a}@example.com"),
    )
    db.execute(
        "INSERT INTO password_resets (token_hash, user_id, expires_at)"
        " VALUES (%s, %s, now() + interval '30 minutes')",
        (hash_token(new_reset_token()), a),
    )
    return a, b


def test_a_user_sees_only_their_own_rows(db, two_users):
    a, b = two_users
    with db.transaction():
        as_role(db, "everreach_reader", a)
        for table in TABLES:
            assert db.execute(
                f"SELECT count(*) FROM {table} WHERE user_id = %s", (b,)
            ).fetchone() == (0,)
            assert db.execute(f"SELECT DISTINCT user_id FROM {table}").fetchall() == [(a,)]
    assert db.execute("SELECT current_user = session_user").fetchone() == (True,)  # tx ended


def test_without_a_user_setting_nothing_is_visible(db, two_users):
    with db.transaction():
        as_role(db, "everreach_reader")
        for table in TABLES:
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_the_reader_cannot_write_nor_reach_accounts_or_reset_tokens(db, two_users):
    a, _ = two_users
    statements = [
        "SELECT * FROM password_resets",
        "SELECT * FROM users",
        "DELETE FROM password_resets",
        "UPDATE app_events SET event_name = 'x'",
        "INSERT INTO app_events (event_id, event_name, user_id, occurred_at)"
        " VALUES (gen_random_uuid(), 'x', current_setting('everreach.user_id'), now())",
    ]
    for statement in statements:
        with pytest.raises(errors.InsufficientPrivilege), db.transaction():
            as_role(db, "everreach_reader", a)
            db.execute(statement)


def test_reset_tokens_are_reachable_by_the_service_role(db, two_users):
    a, _ = two_users
    with db.transaction():
        as_role(db, "everreach_service")
        assert db.execute(
            "SELECT count(*) FROM password_resets WHERE user_id = %s", (a,)
        ).fetchone() == (1,)


def test_accounts_and_reset_tokens_bind_their_owner_too(db):
    forced = db.execute(
        "SELECT relname FROM pg_class WHERE relforcerowsecurity AND relname = ANY(%s)"
        " ORDER BY relname",
        (["users", "password_resets", "app_events"],),
    ).fetchall()
    assert forced == [("password_resets",), ("users",)]

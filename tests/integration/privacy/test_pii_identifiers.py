"""Ids that are PII never reach storage, over real HTTP into real Postgres: an email or phone used
as a PostHog distinct_id or a Segment userId/anonymousId is stored as its keyed pseudonym,
consistently (so identity links still join the events); context fields are scrubbed like
properties; an event name carrying PII is scrubbed before it reaches the quarantine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from everreach.privacy import Pseudonymizer
from tests.helpers import event

POSTHOG_KEY = "phc_pii_test_project_key"
SEGMENT_KEY = "pii_test_write_key"
SECRET = "pseudonym-secret-for-the-integration-tests"
TABLES = ("app_events", "sdk_system_events", "identity_links", "outbox", "quarantined_events")


@pytest.fixture(scope="module")
def pii_api(start_api) -> Iterator[httpx.Client]:
    with start_api(
        posthog_project_keys=POSTHOG_KEY,
        segment_write_keys=SEGMENT_KEY,
        rate_limit_events=1_000_000,
        pseudonym_secret=SECRET,
        # Outbox rows are written (so we can look for PII in them) but never delivered.
        posthog_api_key="phc_outbox_only",
        posthog_host="http://127.0.0.1:9",
        forwarder_in_process=False,
    ) as client:
        yield client


def rows_mentioning(db: psycopg.Connection[Any], needle: str) -> dict[str, int]:
    """Rows of every collector table whose text holds `needle` (case-insensitive)."""
    found = {}
    for table in TABLES:
        (count,) = db.execute(
            f"SELECT count(*) FROM {table} AS t WHERE t::text ILIKE %s", (f"%{needle}%",)
        ).fetchone()
        if count:
            found[table] = count
    return found


def test_an_email_distinct_id_is_stored_as_its_pseudonym_and_still_stitches(pii_api, db):
    email = f"jane.{uuid.uuid4().hex[:8]}@example.com"
    device = str(uuid.uuid4())
    pseudonym = Pseudonymizer(SECRET).pseudonym(email)
    sent = [str(uuid.uuid4()) for _ in range(3)]
    batch = [
        {"event": "$identify", "distinct_id": email, "uuid": sent[0],
         "properties": {"$anon_distinct_id": device}},
        {"event": "message_sent", "distinct_id": email, "uuid": sent[1],
         "properties": {"contact_id": "c-1", "channel": "sms"}},
        # The same person with another case: one pseudonym.
        {"event": "message_sent", "distinct_id": email.upper(), "uuid": sent[2],
         "properties": {"contact_id": "c-2", "channel": "sms"}},
    ]  # fmt: skip
    response = pii_api.post("/batch/", json={"api_key": POSTHOG_KEY, "batch": batch})
    assert response.status_code == 200, response.text
    users = db.execute(
        "SELECT DISTINCT user_id FROM app_events WHERE event_id = ANY(%s)",
        ([uuid.UUID(i) for i in sent[1:]],),
    ).fetchall()
    assert users == [(pseudonym,)]
    assert pseudonym.startswith("psn_")
    link = db.execute(
        "SELECT user_id, source FROM identity_links WHERE anonymous_id = %s", (device,)
    ).fetchall()
    assert link == [(pseudonym, "posthog_identify")]
    assert rows_mentioning(db, email.split("@")[0]) == {}


def test_phone_and_email_segment_ids_are_pseudonyms_and_the_alias_joins_them(pii_api, db):
    phone, email = "+33 6 12 34 56 78", f"bob.{uuid.uuid4().hex[:8]}@example.org"
    pseudonyms = Pseudonymizer(SECRET)
    track_id = str(uuid.uuid4())
    batch = [
        {"type": "track", "event": "signup_started", "anonymousId": email, "userId": phone,
         "messageId": track_id, "properties": {"method": "email"}},
        {"type": "identify", "anonymousId": email, "userId": "+33612345678",
         "messageId": str(uuid.uuid4()), "traits": {}},
    ]  # fmt: skip
    response = pii_api.post("/v1/batch", json={"batch": batch}, auth=(SEGMENT_KEY, ""))
    assert response.status_code == 200, response.text
    row = db.execute(
        "SELECT user_id, anonymous_id FROM app_events WHERE event_id = %s", (uuid.UUID(track_id),)
    ).fetchone()
    # "+33 6 12 34 56 78" and "+33612345678" are one number: one pseudonym.
    assert row == (pseudonyms.pseudonym(phone), pseudonyms.pseudonym(email))
    assert pseudonyms.pseudonym("+33612345678") == row[0]
    links = db.execute(
        "SELECT user_id FROM identity_links WHERE anonymous_id = %s", (row[1],)
    ).fetchall()
    assert links == [(row[0],)]
    assert rows_mentioning(db, email.split("@")[0]) == {}
    assert rows_mentioning(db, "12 34 56 78") == {}


def test_context_fields_are_scrubbed_like_properties(pii_api, db):
    marker = uuid.uuid4().hex[:8]
    body = event(
        "signup_started",
        {"method": "email"},
        anonymous_id=str(uuid.uuid4()),
        device_model=f"Jane's phone jane.{marker}@example.com",
        platform="ios, call 555-123-4567",
        app_build="2026.11.3",
    )
    response = pii_api.post("/v1/ingest", json=body)
    assert response.status_code == 200, response.text
    (context,) = db.execute(
        "SELECT context FROM app_events WHERE event_id = %s", (uuid.UUID(body["event_id"]),)
    ).fetchone()
    assert context == {
        "device_model": "Jane's phone [EMAIL]",
        "platform": "ios, call [PHONE]",
        "app_build": "2026.11.3",
    }
    assert rows_mentioning(db, marker) == {}


def test_an_event_name_carrying_pii_is_scrubbed_before_the_quarantine(pii_api, db):
    marker = uuid.uuid4().hex[:8]
    body = event(f"invite sent to ann.{marker}@example.com", {}, anonymous_id=str(uuid.uuid4()))
    response = pii_api.post("/v1/ingest", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["quarantined"] == 1
    name, raw_name = db.execute(
        "SELECT event_name, raw->>'name' FROM quarantined_events WHERE event_id = %s",
        (uuid.UUID(body["event_id"]),),
    ).fetchone()
    assert name == raw_name == "invite sent to [EMAIL]"
    assert rows_mentioning(db, marker) == {}

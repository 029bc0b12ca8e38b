"""Events that name their user through a public SDK key are stored (compatibility) but marked
unverified, and /v1/me/events says on each event whether the user's own token sent it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import event
from tests.integration.accounts.test_accounts_api import ME, auth, signup, token_of

POSTHOG_KEY = "phc_public_by_design"
SEGMENT_KEY = "segment_public_by_design"


@pytest.fixture(scope="module")
def sdk_api(start_api) -> Iterator[httpx.Client]:
    with start_api(
        posthog_project_keys=POSTHOG_KEY, segment_write_keys=SEGMENT_KEY, rate_limit_events=10**6
    ) as client:
        yield client


def test_events_claiming_a_user_through_a_public_key_are_flagged_unverified(sdk_api, db):
    victim = signup(sdk_api)
    victim_auth = auth(token_of(sdk_api, victim["email"]))
    user_id = victim["user_id"]
    own = event("message_sent", {"contact_id": "c-own", "channel": "sms"})
    assert sdk_api.post("/v1/ingest", json=own, headers=victim_auth).json()["accepted"] == 1
    # Anyone holding the app's public keys can name the victim as the sender.
    forged_posthog, forged_segment = str(uuid.uuid4()), str(uuid.uuid4())
    posthog = {
        "api_key": POSTHOG_KEY,
        "batch": [
            {
                "event": "message_sent",
                "distinct_id": user_id,
                "uuid": forged_posthog,
                "properties": {"contact_id": "c-forged", "channel": "sms"},
            }
        ],
    }
    segment = {
        "batch": [
            {
                "type": "track",
                "event": "message_sent",
                "userId": user_id,
                "messageId": forged_segment,
                "properties": {"contact_id": "c-forged", "channel": "sms"},
            }
        ]
    }
    assert sdk_api.post("/batch/", json=posthog).json()["accepted"] == 1
    response = sdk_api.post("/v1/batch", json=segment, auth=(SEGMENT_KEY, ""))
    assert response.status_code == 200, response.text

    stored = dict(
        db.execute(
            "SELECT event_id::text, verified FROM app_events WHERE user_id = %s", (user_id,)
        ).fetchall()
    )
    assert stored == {own["event_id"]: True, forged_posthog: False, forged_segment: False}
    page = sdk_api.get(ME, headers=victim_auth).json()
    flags = {e["event_id"]: e["verified"] for e in page["events"]}
    assert flags == stored


def test_anonymous_events_on_the_collector_are_not_verified(sdk_api, db):
    body = event("signup_started", {"method": "email"}, anonymous_id=str(uuid.uuid4()))
    assert sdk_api.post("/v1/ingest", json=body).json()["accepted"] == 1
    (verified,) = db.execute(
        "SELECT verified FROM app_events WHERE event_id = %s", (uuid.UUID(body["event_id"]),)
    ).fetchone()
    assert verified is False  # no token, so no user was proven

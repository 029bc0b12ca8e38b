"""When events go to PostHog but its persons API is not configured, an erasure's deletion
request waits in the outbox, visible, until the personal key and project id are set."""

from __future__ import annotations

import psycopg

from everreach.accounts.tokens import TokenCodec
from everreach.forwarding import read_status
from tests.conftest import ApiFactory
from tests.helpers import account_bearer, bearer, event, new_id
from tests.privacy_support import send


def test_the_deletion_request_waits_in_the_outbox_without_a_personal_key(
    start_api: ApiFactory, tokens: TokenCodec, database_url: str
) -> None:
    person = f"waiting-{new_id()}"
    with start_api(
        posthog_api_key="phc_events_only",
        posthog_host="http://127.0.0.1:9",  # never reached: no forwarder runs here
        forwarder_in_process=False,
    ) as api:
        send(api, [event("not_in_the_plan", {})], bearer(tokens, person))
        admin = account_bearer(tokens, database_url, role="admin")
        receipt = api.post(f"/v1/admin/users/{person}/erase", headers=admin).json()
    assert receipt["posthog_deletion_queued"]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status, payload FROM outbox WHERE destination = 'posthog_persons' "
            "AND event_id = %s",
            (receipt["receipt_id"],),
        ).fetchall()
    assert rows == [("pending", {"distinct_ids": [person]})]
    waiting = {s.destination: s.pending for s in read_status(database_url)}
    assert waiting["posthog_persons"] >= 1

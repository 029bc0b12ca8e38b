"""PostHog and the webhook are down (nothing listens) while events keep arriving, then come back:
everything accepted is delivered to both, none lost; ingest never failed meanwhile."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from api.server import free_port
from tests.forwarding_support import Receiver, eventually
from tests.helpers import event, new_id

pytestmark = pytest.mark.slow

BATCHES = 30
BATCH_SIZE = 20
OUTAGE_S = 4.0
FAST_RETRIES: dict[str, Any] = {
    "forward_backoff_min_s": 0.1,
    "forward_backoff_max_s": 0.5,
    "forward_poll_interval_s": 0.05,
    "forward_timeout_s": 1.0,
    "forward_lease_s": 3.0,
}


def delivered(db: psycopg.Connection[Any], ids: list[str]) -> dict[str, int]:
    rows = db.execute(
        "SELECT destination, count(*) FROM outbox WHERE status = 'delivered'"
        " AND event_id = ANY(%s::uuid[]) GROUP BY destination",
        (ids,),
    ).fetchall()
    return dict(rows)


def test_destinations_down_then_back_receive_everything(start_api, db):
    db.execute("TRUNCATE outbox")
    posthog_port, webhook_port = free_port(), free_port()
    config = {
        "posthog_api_key": "phc_reliability",
        "posthog_host": f"http://127.0.0.1:{posthog_port}",
        "mi_webhook_url": f"http://127.0.0.1:{webhook_port}/hooks/everreach",
        "mi_webhook_secret": "whsec-reliability-" + "2" * 20,
        **FAST_RETRIES,
    }
    sent: list[str] = []
    with start_api(**config) as api:  # the in-process forwarder, as `everreach serve` runs it
        started = time.monotonic()
        for _ in range(BATCHES):  # both destinations refuse connections the whole time
            batch = [
                event("message_sent", {"contact_id": "c", "channel": "sms"}, anonymous_id=new_id())
                for _ in range(BATCH_SIZE)
            ]
            response = api.post("/v1/ingest", json={"batch": batch})
            assert response.status_code == 200 and response.json()["accepted"] == BATCH_SIZE
            sent.extend(e["event_id"] for e in batch)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))
        assert delivered(db, sent) == {}
        retrying = db.execute(
            "SELECT count(*) FROM outbox WHERE attempts > 0 AND event_id = ANY(%s::uuid[])",
            (sent,),
        ).fetchone()[0]
        assert retrying > 0, "the forwarder never tried while the destinations were down"
        with Receiver(port=posthog_port) as posthog, Receiver(port=webhook_port) as webhook:
            eventually(
                lambda: delivered(db, sent) == {"posthog": len(sent), "webhook": len(sent)},
                timeout=60,
            )
    posthog_ids = {item["uuid"] for r in posthog.accepted() for item in r.json()["batch"]}
    webhook_ids = {item["event_id"] for r in webhook.accepted() for item in r.json()["events"]}
    assert posthog_ids == set(sent) and webhook_ids == set(sent)
    dead = db.execute("SELECT count(*) FROM outbox WHERE status = 'dead'").fetchone()[0]
    assert dead == 0

"""The PII corpus sent through the real collector: no value reaches app_events, the outbox (what
PostHog would get), prompts, responses or the quarantine. Each value goes in as a prompt text and
as a response text, or (secrets under property names) as properties."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from bench.pii_corpus import load, pieces
from tests.helpers import bearer, event, new_id, prompt_props, response_props

# What the collector generates in a row (ids, times, row numbers, sequence numbers).
GENERATED = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(?:[+-][0-9:]+|Z)?"
    r"|(?<![0-9A-Za-z])[0-9]+(?=,)"
)
# Every row a request can produce, with the event it came from.
ROWS_BY_EVENT = {
    "app_events": "SELECT event_id::text, t::text FROM app_events AS t",
    "outbox": "SELECT event_id::text, t::text FROM outbox AS t",
    "quarantined_events": "SELECT event_id::text, t::text FROM quarantined_events AS t",
    "prompts": "SELECT e.event_id::text, p::text FROM prompts AS p JOIN app_events AS e"
    " ON e.event_name = 'prompt_submitted' AND e.properties->>'prompt_id' = p.prompt_id::text",
    "responses": "SELECT e.event_id::text, r::text FROM responses AS r JOIN app_events AS e"
    " ON e.event_name = 'ai_response_generated'"
    " AND e.properties->>'response_id' = r.response_id::text",
}


@pytest.fixture(scope="module")
def forwarding_api(start_api) -> Iterator[httpx.Client]:
    with start_api(
        rate_limit_events=1_000_000,
        # Outbox rows are written (they are what PostHog would receive) but never delivered.
        posthog_api_key="phc_outbox_only",
        posthog_host="http://127.0.0.1:9",
        forwarder_in_process=False,
    ) as client:
        yield client


def stored_by_event(db: psycopg.Connection[Any], event_ids: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for table, sql in ROWS_BY_EVENT.items():
        for event_id, text in db.execute(sql).fetchall():
            if event_id in event_ids:
                found[event_id].append(f"{table}: {text}")
    return found


def test_no_value_of_the_pii_corpus_is_stored_or_queued_for_posthog(forwarding_api, db, tokens):
    cases = load("pii.jsonl")
    batch: list[dict[str, Any]] = []
    events_of: list[list[str]] = []
    for case in cases:
        if case.props is not None:
            sent = [event("message_sent", {"contact_id": "c", "channel": "sms", **case.props})]
        else:
            prompt = prompt_props(text=f"see {case.text} ok")
            answer = response_props(prompt["prompt_id"], text=case.text)
            sent = [event("prompt_submitted", prompt), event("ai_response_generated", answer)]
        batch += sent
        events_of.append([e["event_id"] for e in sent])
    headers = bearer(tokens, new_id())
    response = forwarding_api.post("/v1/ingest", json={"batch": batch}, headers=headers)
    assert response.status_code == 200, response.text
    stored = stored_by_event(db, {e["event_id"] for e in batch})
    assert len(stored) == len(batch)  # every event was stored somewhere
    leaked = {}
    for case, event_ids in zip(cases, events_of, strict=True):
        rows = "\n".join(row for event_id in event_ids for row in stored[event_id])
        rows = GENERATED.sub("<generated>", rows)  # where a 4-digit PIN could appear by chance
        if any(piece in rows for piece in pieces(case.secret)):
            leaked[case.secret] = rows
    assert leaked == {}

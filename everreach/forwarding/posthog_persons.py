"""Erasure requests for PostHog: delete the persons of erased distinct ids, through the outbox.

An erasure enqueues one `posthog_persons` outbox row (in the transaction that erases) whose
payload names the person's distinct ids; the forwarder delivers it like any event, with retries,
backoff and the dead letter, so a PostHog outage delays the deletion but never loses it. The
request is PostHog's bulk delete of its persons API, `POST {api_host}/api/projects/{project_id}/
persons/bulk_delete/` with `{"distinct_ids": [...], "delete_events": true}`, which takes a
personal API key (the project key of the batch API can only capture).

The row is written whenever PostHog forwarding is configured; it waits in the outbox (visible in
`everreach outbox status`) until the personal key and the project id are configured too. Its
payload is emptied once delivered (`sql/outbox_mark_delivered.sql`): the ids it held were the
person's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from psycopg import AsyncConnection

from everreach.forwarding.delivery import OutboundRequest
from everreach.platform.settings import Settings
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

NAME = "posthog_persons"

_json = msgspec.json.Encoder()


def person_deletion_wanted(settings: Settings) -> bool:
    """Whether erased people must be deleted from PostHog: we forward (or forwarded) to it."""
    return bool(settings.posthog_api_key or settings.posthog_personal_api_key)


async def enqueue_person_deletion(
    conn: AsyncConnection, request_id: uuid.UUID, distinct_ids: Sequence[str]
) -> None:
    """One outbox row asking PostHog to delete the persons of `distinct_ids`."""
    row = {"destination": NAME, "event_id": request_id, "payload": {"distinct_ids": distinct_ids}}
    await conn.execute(query("outbox_enqueue"), {"rows": _json.encode([row]).decode()})


class PersonDeletionSender:
    name = NAME

    def __init__(self, api_host: str, project_id: str, personal_api_key: str) -> None:
        self._url = f"{api_host.rstrip('/')}/api/projects/{project_id}/persons/bulk_delete/"
        self._headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {personal_api_key}",
        }

    def request(self, payloads: list[dict[str, Any]]) -> OutboundRequest:
        distinct_ids = sorted({i for payload in payloads for i in payload["distinct_ids"]})
        body = _json.encode({"distinct_ids": distinct_ids, "delete_events": True})
        return OutboundRequest(self._url, body, self._headers)

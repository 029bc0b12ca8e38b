"""A user's own events, newest first, in keyset pages read through row-level security.

Keyset (not OFFSET) pagination: each page starts strictly after the last row of the previous one
in (occurred_at, id) order, so pages stay fast and stable however deep one goes and while new
events arrive. The cursor is opaque to clients: base64url of "<occurred_at ISO>|<id>".

Every event of the user is listed, each with `verified`: whether the user's own token sent it.
Events that arrived through the PostHog or Segment endpoints name their user in the body, under a
key that is public by design, so they are listed (the app may send its own events that way) but
flagged `verified: false`: a client shows them as such or leaves them out.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from everreach.platform.problems import ClientFault
from everreach.platform.rls import as_reader
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

MAX_PAGE = 200
_NO_CURSOR = (datetime.fromisoformat("9999-12-31T23:59:59+00:00"), 2**63 - 1)


@dataclass(frozen=True)
class UserEvent:
    event_id: str
    name: str
    occurred_at: datetime
    received_at: datetime
    anonymous_id: str | None
    properties: dict[str, Any]
    context: dict[str, Any]
    # True: sent with the user's own token. False: another sender named this user through a
    # public SDK key (PostHog, Segment), which anyone holding the app's key can do. None: stored
    # before this was recorded.
    verified: bool | None


@dataclass(frozen=True)
class EventsPage:
    events: list[UserEvent]
    next_cursor: str | None


def encode_cursor(occurred_at: datetime, row_id: int) -> str:
    raw = f"{occurred_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, row_id = raw.partition("|")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed, int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ClientFault(
            400, "invalid_cursor", "the cursor is not one this API returned; start without one"
        ) from exc


async def user_events_page(
    pool: AsyncConnectionPool[Any], user_id: str, cursor: str | None, limit: int
) -> EventsPage:
    """Up to `limit` of `user_id`'s events after `cursor`, as the RLS reader role."""
    if not 1 <= limit <= MAX_PAGE:
        raise ClientFault(400, "invalid_limit", f"limit must be between 1 and {MAX_PAGE}")
    before_at, before_id = decode_cursor(cursor) if cursor else _NO_CURSOR
    params = {"user_id": user_id, "before_at": before_at, "before_id": before_id}
    async with pool.connection() as conn, as_reader(conn, user_id):
        result = await conn.execute(query("user_events_page"), {**params, "limit": limit + 1})
        rows = await result.fetchall()
    page = rows[:limit]
    events = [UserEvent(*row[1:]) for row in page]
    more = len(rows) > limit
    return EventsPage(events, encode_cursor(page[-1][3], page[-1][0]) if more else None)

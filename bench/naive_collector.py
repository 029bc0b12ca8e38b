"""The baseline collector: what the seed's TypeScript route did, on the same framework.

One INSERT per event and a commit per request, stdlib JSON, no validation or scrubbing. It does
*less* work per event than ours, so the ratio we print is conservative.

Run: python -m bench.naive_collector DATABASE_URL PORT
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import uvicorn
from litestar import Litestar, Request, get, post
from psycopg_pool import AsyncConnectionPool

# Dedup as the store does it (the event's id in event_ids first), still one statement per event.
INSERT = (
    "WITH new_id AS (INSERT INTO event_ids (event_id, occurred_at) VALUES (%s, %s)"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id, occurred_at)"
    " INSERT INTO app_events (event_id, event_name, user_id, anonymous_id, occurred_at, context,"
    " properties) SELECT event_id, %s, %s, %s, occurred_at, %s, %s FROM new_id"
)


def build(database_url: str) -> Litestar:
    pool = AsyncConnectionPool(database_url, min_size=4, max_size=10, open=False)

    async def open_pool(_: Litestar) -> None:
        await pool.open()

    @post("/v1/ingest", status_code=200, request_max_body_size=None)
    async def ingest(request: Request[Any, Any, Any]) -> dict[str, int]:
        body = json.loads(await request.body())
        events = body.get("batch", [body])
        async with pool.connection() as conn:
            for event in events:
                await conn.execute(
                    INSERT,
                    (
                        event.get("event_id") or str(uuid.uuid4()),
                        event.get("timestamp") or datetime.now(UTC),
                        event["name"],
                        None,
                        event.get("anonymous_id"),
                        json.dumps({"platform": event.get("platform")}),
                        json.dumps(event.get("props", {})),
                    ),
                )
            await conn.commit()
        return {"accepted": len(events)}

    @get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([ingest, healthz], on_startup=[open_pool])


if __name__ == "__main__":
    uvicorn.run(
        build(sys.argv[1]),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        log_level="warning",
        access_log=False,
    )

"""The ceiling baseline: a collector on the same framework that reads the body and stores nothing.

What uvicorn + Litestar + the load generator cost on this box by themselves: no collector on
this stack can go faster, so the ingest benchmark prints how close ours comes to it.

Run: python -m bench.empty_collector PORT
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from litestar import Litestar, Request, get, post


@post("/v1/ingest", status_code=200, request_max_body_size=None)
async def ingest(request: Request[Any, Any, Any]) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(
        Litestar([ingest, healthz]),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )

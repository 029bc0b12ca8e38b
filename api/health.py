"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import AsyncConnectionPool

from api.errors import problem_response, problem_responses


class HealthController(Controller):
    tags = ["operations"]

    @get("/healthz", summary="The process is up")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", summary="The database answers", responses=problem_responses(503))
    async def readyz(self, pool: NamedDependency[AsyncConnectionPool]) -> Response[Any]:
        try:
            async with pool.connection(timeout=2.0) as conn:
                await conn.execute("SELECT 1")
        except Exception as exc:  # any failure means "not ready"; the reason goes in the body
            return problem_response(
                503,
                "not_ready",
                f"the database does not answer: {type(exc).__name__}",
                headers={"Retry-After": "5"},
            )
        return Response({"status": "ready", "database": "ok"})

    @get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self) -> Response[bytes]:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

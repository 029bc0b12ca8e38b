"""The caller's own data, read through row-level security (`everreach.platform.rls.as_reader`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from psycopg_pool import AsyncConnectionPool

from api.errors import problem_responses
from api.guards import required_claims
from everreach.accounts import MAX_PAGE, EventsPage, user_events_page


class MeController(Controller):
    path = "/v1/me"
    tags = ["accounts"]

    @get(
        "/events",
        summary="The caller's events, newest first",
        description="Keyset pages: pass `next_cursor` back as `cursor` until it is null.",
        responses=problem_responses(400, 401, 503),
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[AsyncConnectionPool],
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
    ) -> EventsPage:
        claims = await required_claims(request)
        return await user_events_page(pool, claims.sub, cursor, limit)

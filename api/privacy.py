"""A person's requests: access (`GET /v1/me/export`, admin `GET .../export`) and erasure (admin
`POST /v1/admin/users/{user_id}/erase`).

The erasure itself is the domain's (`everreach.privacy.erasure`); it records the days it
touched in the day change log, and the Dagster freshness sensor re-materializes them (the API
never talks to Dagster). `GET /v1/admin/erasures/{receipt_id}` shows when that happened.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, PathParameter
from litestar.response import Stream
from psycopg_pool import AsyncConnectionPool

from api.errors import problem_responses
from api.guards import require_admin, required_claims
from api.services import Services
from everreach.forwarding import person_deletion_wanted
from everreach.platform import ClientFault
from everreach.privacy import ErasureReceipt, erase_user, export_person, read_receipt

JSON_LINES = "application/x-ndjson"
USER_ID = Annotated[str, PathParameter(min_length=1, max_length=200)]


def _export_stream(pool: AsyncConnectionPool, user_id: str) -> Stream:
    async def lines() -> AsyncIterator[bytes]:
        async with pool.connection() as conn:
            async for chunk in export_person(conn, user_id):
                yield chunk

    return Stream(
        lines(),
        media_type=JSON_LINES,
        headers={"content-disposition": 'attachment; filename="everreach-export.jsonl"'},
    )


class PrivacyMeController(Controller):
    path = "/v1/me"
    tags = ["privacy"]

    @get(
        "/export",
        summary="Everything stored about the caller, as JSON Lines",
        description=(
            'One `{"table", "row"}` object per line: a header, the account (no password hash), '
            "events, quarantined and SDK events, prompts, responses, identity links. Streamed."
        ),
        media_type=JSON_LINES,
        responses=problem_responses(400, 401, 503),
    )
    async def export(
        self, request: Request[Any, Any, Any], pool: NamedDependency[AsyncConnectionPool]
    ) -> Stream:
        claims = await required_claims(request)
        return _export_stream(pool, claims.sub)


class PrivacyAdminController(Controller):
    path = "/v1/admin"
    tags = ["privacy", "admin"]
    guards = [require_admin]

    @get(
        "/users/{user_id:str}/export",
        summary="Everything stored about a person, as JSON Lines",
        media_type=JSON_LINES,
        responses=problem_responses(400, 401, 403, 404, 503),
    )
    async def export(self, pool: NamedDependency[AsyncConnectionPool], user_id: USER_ID) -> Stream:
        return _export_stream(pool, user_id)

    @post(
        "/users/{user_id:str}/erase",
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 503),
        summary="Erase a person everywhere and suppress their identifiers",
        description=(
            "Deletes the person's events (and their devices' pre-auth events), quarantined and "
            "SDK events, prompts, responses, identity links, outbox rows, reset tokens and "
            "account; suppresses their ids; queues a PostHog person deletion when forwarding to "
            "PostHog; returns the receipt. The dataset days and label metrics that held them "
            "are rebuilt by the Dagster freshness sensor (`rebuilt_at` on the receipt). "
            "`dry_run=true` counts without deleting. Idempotent."
        ),
    )
    async def erase(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        user_id: USER_ID,
        dry_run: FromQuery[bool] = False,
    ) -> ErasureReceipt:
        claims = await required_claims(request)
        async with services.pool.connection() as conn:
            return await erase_user(
                conn,
                user_id,
                hasher=services.identifiers,
                requested_by=f"admin:{claims.sub}",
                posthog_deletion=person_deletion_wanted(services.settings),
                dry_run=dry_run,
            )

    @get(
        "/erasures/{receipt_id:uuid}",
        summary="An erasure receipt",
        responses=problem_responses(400, 401, 403, 404, 503),
    )
    async def receipt(
        self, pool: NamedDependency[AsyncConnectionPool], receipt_id: FromPath[uuid.UUID]
    ) -> ErasureReceipt:
        async with pool.connection() as conn:
            found = await read_receipt(conn, receipt_id)
        if found is None:
            raise ClientFault(404, "not_found", "no erasure receipt with this id")
        return found

"""Route guards: who may call an endpoint.

All authentication goes through `api.auth`, so token rules (expiry, revocation) live in one place
and every guarded route gets them.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.auth import optional_claims
from everreach.accounts import Claims
from everreach.platform import ClientFault


async def required_claims(connection: ASGIConnection[Any, Any, Any, Any]) -> Claims:
    """The caller's verified claims, checked against the database now; 401 without a token."""
    claims = await optional_claims(connection, fresh=True)
    if claims is None:
        raise ClientFault(
            401,
            "authentication_required",
            "this endpoint needs `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return claims


async def require_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Admins only: 401 without a valid token, 403 for a non-admin."""
    claims = await required_claims(connection)
    if claims.role != "admin":
        raise ClientFault(403, "admin_required", "this endpoint is for administrators")

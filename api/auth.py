"""Bearer-token authentication for the API: the one place where tokens are checked.

Authentication is optional on the collector, but a token that is present must be valid: an
invalid, expired or tampered token is a 401, never a silent fall-back to anonymous. Valid means
signed, unexpired, and not revoked: a token issued before its account's last password change, or
carrying a role the account no longer has, is refused (`everreach.accounts.revocation`
caches the lookup so the collector stays fast). Guards (`api.guards`) build on `optional_claims`.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from api.services import services
from everreach.accounts import Claims, InvalidToken
from everreach.platform import ClientFault

_SCHEME = "bearer "


def _challenge(reason: str) -> str:
    """The RFC 6750 challenge for a refused token."""
    return f'Bearer error="invalid_token", error_description="{reason}"'


async def optional_claims(connection: ASGIConnection[Any, Any, Any, Any]) -> Claims | None:
    """The verified claims of the request's bearer token, None without one, 401 if invalid."""
    header = connection.headers.get("authorization")
    if header is None:
        return None
    if not header.lower().startswith(_SCHEME):
        raise ClientFault(
            401,
            "unsupported_auth_scheme",
            "use `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = services(connection).tokens.verify(header[len(_SCHEME) :].strip())
    except InvalidToken as exc:
        raise ClientFault(
            401,
            exc.reason,
            exc.detail,
            headers={"WWW-Authenticate": _challenge(exc.reason)},
        ) from exc
    account = await services(connection).credentials.get(claims.sub)
    if account is not None and (
        claims.iat < account.password_changed_at or claims.role != account.role
    ):
        raise ClientFault(
            401,
            "token_revoked",
            "the account's password or role changed after this token was issued; log in again",
            headers={"WWW-Authenticate": _challenge("token_revoked")},
        )
    return claims

"""Bearer-token authentication for the API: the one place where tokens are checked.

Authentication is optional on the collector, but a token that is present must be valid: an
invalid, expired or tampered token is a 401, never a silent fall-back to anonymous. Valid means
signed, unexpired, and not revoked: an account token whose account no longer exists, issued
before its account's last password change, or carrying a role the account no longer has, is
refused. A machine token (`"acct": false`, `everreach.accounts.tokens`) has no account to check
and is worth the `user` role at most, whatever role it claims.

The collector reads account states through `everreach.accounts.revocation`'s short cache so it
stays fast; guarded routes (a person's data, admin work) pass `fresh=True` and read the database.
Guards (`api.guards`) build on `optional_claims`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar.connection import ASGIConnection

from api.services import services
from everreach.accounts import Claims, InvalidToken
from everreach.platform import ClientFault

_SCHEME = "bearer "


def _challenge(reason: str) -> str:
    """The RFC 6750 challenge for a refused token."""
    return f'Bearer error="invalid_token", error_description="{reason}"'


def _refused(code: str, detail: str) -> ClientFault:
    return ClientFault(401, code, detail, headers={"WWW-Authenticate": _challenge(code)})


async def optional_claims(
    connection: ASGIConnection[Any, Any, Any, Any], *, fresh: bool = False
) -> Claims | None:
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
        raise _refused(exc.reason, exc.detail) from exc
    if not claims.account:
        return dataclasses.replace(claims, role="user")
    account = await services(connection).credentials.get(claims.sub, fresh=fresh)
    if account is None:
        raise _refused("account_not_found", "the account of this token no longer exists")
    if claims.iat < account.password_changed_at or claims.role != account.role:
        raise _refused(
            "token_revoked",
            "the account's password or role changed after this token was issued; log in again",
        )
    return claims

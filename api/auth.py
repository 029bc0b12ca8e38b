"""Bearer-token authentication for the API.

Authentication is optional on the collector, but a token that is present must be valid: an
invalid, expired or tampered token is a 401, never a silent fall-back to anonymous.
"""

from __future__ import annotations

from litestar import Request

from everreach.problems import ClientFault
from everreach.tokens import Claims, InvalidToken, TokenCodec

_SCHEME = "bearer "


def _challenge(reason: str) -> str:
    """The RFC 6750 challenge for a refused token."""
    return f'Bearer error="invalid_token", error_description="{reason}"'


def optional_claims(request: Request, tokens: TokenCodec) -> Claims | None:
    """The verified claims of the request's bearer token, None without one, 401 if invalid."""
    header = request.headers.get("authorization")
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
        return tokens.verify(header[len(_SCHEME) :].strip())
    except InvalidToken as exc:
        raise ClientFault(
            401,
            exc.reason,
            exc.detail,
            headers={"WWW-Authenticate": _challenge(exc.reason)},
        ) from exc

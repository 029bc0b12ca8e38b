"""Access tokens: short-lived HS256 JWTs with `sub`, `iat`, `exp` and `role`.

PyJWT does the cryptography; this module pins the one algorithm we accept (so `alg: none` and
algorithm-confusion tokens fail) and requires every claim we rely on, so that a token missing
`sub` can never authenticate as "nobody in particular".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import jwt

from everreach.platform.secret_files import home_secret
from everreach.platform.settings import Settings

ALGORITHM = "HS256"
DEFAULT_TTL_S = 3600
_SECRET_FILE = "jwt_secret"


class InvalidToken(Exception):
    """A bearer token that must be refused; `reason` is machine-readable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Claims:
    """What a verified token says about its bearer."""

    sub: str
    role: str
    iat: float
    exp: float


def signing_key(settings: Settings) -> str:
    """The configured key, else one generated once and kept (0600) under EVERREACH_HOME."""
    return settings.jwt_secret or home_secret(settings, _SECRET_FILE)


class TokenCodec:
    """Issues and verifies access tokens with one key."""

    def __init__(self, key: str, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._key = key
        self.ttl_s = ttl_s

    def issue(self, sub: str, role: str = "user", now: float | None = None) -> str:
        """A signed token; `iat` keeps milliseconds (RFC 7519 allows non-integer NumericDates).

        Whole seconds would make a password reset ambiguous: a token issued in the same second
        as the reset could not be told apart from one issued just after it (see `api.auth`).
        Floored, so a token never looks newer than it is.
        """
        issued = math.floor((now if now is not None else time.time()) * 1000) / 1000
        payload = {"sub": sub, "role": role, "iat": issued, "exp": round(issued + self.ttl_s, 3)}
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> Claims:
        """The claims of a valid token, or `InvalidToken` saying why not."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "iat", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token_expired", "the access token has expired") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken("token_claim_missing", str(exc)) from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("token_invalid", "the access token is not valid") from exc
        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise InvalidToken("token_claim_missing", "the token has no subject")
        role = payload.get("role", "user")
        return Claims(sub=sub, role=str(role), iat=float(payload["iat"]), exp=float(payload["exp"]))

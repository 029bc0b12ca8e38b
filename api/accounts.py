"""Accounts over HTTP: sign-up, log-in, password reset, and the page the reset email links to.

Bodies are small msgspec Structs; the auth routes cap the body at 16 KB. The reset request
always answers 202 with the same body (known or unknown address, rate-limited or not): see
`everreach.accounts.password_reset` for why the work behind it is the same either way.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Annotated, Any

import msgspec
from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import JSONBody, QueryParameter

from api.errors import problem_responses
from everreach.accounts import (
    MAX_LENGTH,
    MIN_LENGTH,
    Account,
    Accounts,
    PasswordResets,
    parse_token,
)
from everreach.platform import ClientFault

MAX_AUTH_BODY = 16_384


def _documented(**schema: Any) -> dict[str, Any]:
    """What the spec says of a field whose rule the domain checks with its own problem codes
    (Litestar's `schema_extra`): the spec is truthful, the answers keep their codes."""
    return {"extra": schema}


Email = Annotated[
    str, msgspec.Meta(max_length=320, extra_json_schema=_documented(format=OpenAPIFormat.EMAIL))
]
Password = Annotated[
    str,
    msgspec.Meta(extra_json_schema=_documented(min_length=MIN_LENGTH, max_length=MAX_LENGTH)),
]
ResetToken = Annotated[
    str,
    msgspec.Meta(max_length=256, extra_json_schema=_documented(pattern=r"^\s*[0-9a-fA-F]{64}\s*$")),
]


class Credentials(msgspec.Struct):
    email: Email
    password: Password


class ResetRequest(msgspec.Struct):
    email: Email


class PerformReset(msgspec.Struct):
    token: ResetToken
    password: Password


class TokenView(msgspec.Struct):
    access_token: str
    expires_in: int
    user_id: str
    role: str
    token_type: str = "bearer"


class Acknowledgement(msgspec.Struct):
    status: str
    detail: str


RESET_REQUESTED = Acknowledgement(
    status="accepted",
    detail="If an account uses this address, a reset link is on its way.",
)
_NO_STORE = {"Cache-Control": "no-store"}


def _client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["accounts"]
    request_max_body_size = MAX_AUTH_BODY

    @post(
        "/signup",
        status_code=201,
        summary="Create an account (role user)",
        responses=problem_responses(400, 409, 413, 503),
    )
    async def signup(
        self, accounts: NamedDependency[Accounts], data: JSONBody[Credentials]
    ) -> Account:
        return await accounts.signup(data.email, data.password)

    @post(
        "/login",
        status_code=200,
        summary="Exchange email and password for a bearer token",
        description=(
            "Attempts are throttled per address and client, per client and per address (429 "
            "with Retry-After); an unknown address and a wrong password get the same 401."
        ),
        responses=problem_responses(400, 401, 413, 429, 503),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[Accounts],
        data: JSONBody[Credentials],
    ) -> Response[TokenView]:
        grant = await accounts.login(data.email, data.password, _client_ip(request))
        view = TokenView(
            grant.access_token, grant.expires_in, grant.account.user_id, grant.account.role
        )
        return Response(view, headers=_NO_STORE)

    @post(
        "/request-reset",
        status_code=202,
        summary="Email a password-reset link",
        description="Always 202 with the same body, whether or not the address has an account.",
        responses=problem_responses(400, 413, 503),
    )
    async def request_reset(
        self,
        request: Request[Any, Any, Any],
        resets: NamedDependency[PasswordResets],
        data: JSONBody[ResetRequest],
    ) -> Acknowledgement:
        await resets.request(data.email, _client_ip(request))
        return RESET_REQUESTED

    @post(
        "/perform-reset",
        status_code=200,
        summary="Set a new password with a reset token",
        responses=problem_responses(400, 413, 429, 503),
    )
    async def perform_reset(
        self,
        request: Request[Any, Any, Any],
        resets: NamedDependency[PasswordResets],
        data: JSONBody[PerformReset],
    ) -> Acknowledgement:
        await resets.perform(data.token, data.password, _client_ip(request))
        return Acknowledgement(status="password_changed", detail="log in with the new password")


@cache
def _pages() -> Environment:
    return Environment(
        loader=PackageLoader("api", "templates"), autoescape=select_autoescape(["html"])
    )


@get("/reset-password", include_in_schema=False, sync_to_thread=False)
def reset_password_page(
    token: Annotated[str | None, QueryParameter(required=False)] = None,
) -> Response[str]:
    """The page the reset email links to: a form that posts the new password with the token.

    The token is in the URL, so the page sends no Referer, is not cached, cannot be framed, and
    runs only its own nonce-tagged script.
    """
    try:
        valid = parse_token(token or "")
    except ClientFault:
        valid = None
    nonce = secrets.token_urlsafe(16)
    html = (
        _pages()
        .get_template("reset_password.html")
        .render(token=valid, nonce=nonce, min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    )
    headers = {
        **_NO_STORE,
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
    }
    return Response(
        html, status_code=200 if valid else 400, media_type="text/html", headers=headers
    )

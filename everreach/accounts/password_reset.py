"""Password reset by email, following OWASP's Forgot Password cheat sheet.

Requesting a reset answers the same way whether or not the account exists: the response path
only checks the address's format and the rate limits, then queues a job. The job does the rest
for both cases alike (a token is drawn and hashed either way); only for an existing account is the
hash stored and the email sent. A token is 32 random bytes (64 hex characters); only its SHA-256
is stored, it expires after `ttl_s` and a new request invalidates the older ones.

Performing a reset is rate-limited per client IP, then looks the token up and refuses an
unknown, used or expired one before any Argon2 work: guessing tokens costs the server a hash
lookup, not 60 ms of CPU and 64 MiB. For a valid token it hashes the new password (through the
hasher's bounded slots, see `passwords.py`), claims the token with one conditional UPDATE
(exactly one of two concurrent submits wins), stores the new Argon2id hash, stamps
`password_changed_at` (which revokes every token issued before, see `revocation.py`), purges used
and expired tokens, and emails a "your password was changed" notice.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from psycopg_pool import AsyncConnectionPool

from everreach.accounts.background import JobQueue
from everreach.accounts.mail.mailer import Mailer
from everreach.accounts.mail.messages import password_changed_mail, password_reset_mail
from everreach.accounts.passwords import PasswordHasher, check_password_policy
from everreach.accounts.revocation import AccountStates
from everreach.accounts.users import hashed_email, normalize_email
from everreach.platform.problems import ClientFault, too_many_requests
from everreach.platform.rate_limit import RateLimiter
from everreach.platform.rls import as_service
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"[0-9a-f]{64}")

log = structlog.get_logger(__name__)


def new_reset_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def hash_token(token: str) -> bytes:
    """What the database keeps: a leaked table does not give anyone a working link."""
    return hashlib.sha256(bytes.fromhex(token)).digest()


def parse_token(raw: str) -> str:
    token = raw.strip().lower()
    if not _TOKEN_SHAPE.fullmatch(token):
        raise ClientFault(400, "reset_token_invalid", "the reset link is invalid")
    return token


@dataclass(frozen=True)
class ResetLimits:
    per_email: RateLimiter
    per_ip: RateLimiter


class PasswordResets:
    """Request and perform password resets."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        hasher: PasswordHasher,
        states: AccountStates,
        mailer: Mailer,
        jobs: JobQueue,
        limits: ResetLimits,
        app_url: str,
        ttl_s: int,
    ) -> None:
        self._pool = pool
        self._hasher = hasher
        self._states = states
        self._mailer = mailer
        self._jobs = jobs
        self._limits = limits
        self._app_url = app_url
        self._ttl_s = ttl_s

    async def request(self, raw_email: str, client_ip: str) -> None:
        """The response path: format check, rate limits, queue. Same work for every address."""
        email = normalize_email(raw_email)
        # IP first: a flood from one client does not use up the quota of the addresses it names.
        allowed = (await self._limits.per_ip.acquire({f"reset:ip:{client_ip}": 1})).allowed and (
            await self._limits.per_email.acquire({f"reset:email:{hashed_email(email)}": 1})
        ).allowed
        if not allowed:
            log.info("password reset request rate-limited")  # same answer: see api.accounts
            return
        self._jobs.submit("password_reset_request", partial(self._issue, email))

    async def _issue(self, email: str) -> None:
        """Off the response path: draw and hash a token; store and mail it if the account exists."""
        token = new_reset_token()
        token_hash = hash_token(token)
        async with self._pool.connection() as conn, as_service(conn):
            cursor = await conn.execute(query("lock_user_by_email"), {"email": email})
            account = await cursor.fetchone()
            if account is not None:
                await conn.execute(
                    query("replace_reset_token"),
                    {"user_id": account[0], "token_hash": token_hash, "ttl_s": self._ttl_s},
                )
        if account is None:
            return
        mail = password_reset_mail(account[1], self._app_url, token, self._ttl_s // 60)
        await self._mailer.deliver(mail, "password_reset")

    async def perform(self, raw_token: str, password: str, client_ip: str) -> None:
        """Set the new password if the token is valid; 400 with the reason otherwise, 429 past
        the per-IP limit. The token is checked before the password is hashed."""
        token_hash = hash_token(parse_token(raw_token))
        check_password_policy(password)
        decision = await self._limits.per_ip.acquire({f"reset:perform:ip:{client_ip}": 1})
        if not decision.allowed:
            raise too_many_requests(
                "reset_throttled",
                "too many password-reset attempts from this client; wait before trying again",
                decision.retry_after_s,
            )
        await self._check_token(token_hash)
        password_hash = await self._hasher.hash(password)
        now = datetime.now(UTC)
        async with self._pool.connection() as conn, as_service(conn):
            cursor = await conn.execute(query("consume_reset_token"), {"token_hash": token_hash})
            claimed = await cursor.fetchone()
            if claimed is None:  # used by a concurrent submit, or expired meanwhile
                cursor = await conn.execute(query("reset_token_status"), {"token_hash": token_hash})
                raise _refusal(await cursor.fetchone())
            user_id = claimed[0]
            cursor = await conn.execute(
                query("set_password"),
                {"user_id": user_id, "password_hash": password_hash, "now": now},
            )
            account = await cursor.fetchone()
            await conn.execute(query("purge_reset_tokens"))
        self._states.forget(str(user_id))
        if account is not None:
            mail = password_changed_mail(account[0], self._app_url, now)
            self._jobs.submit(
                "password_changed_mail", partial(self._mailer.deliver, mail, "password_changed")
            )

    async def _check_token(self, token_hash: bytes) -> None:
        """Refuse (400) a token that is unknown, used or expired, without claiming it."""
        async with self._pool.connection() as conn, as_service(conn):
            cursor = await conn.execute(query("reset_token_status"), {"token_hash": token_hash})
            status = await cursor.fetchone()
        if status is None or status[0] or status[1]:
            raise _refusal(status)


def _refusal(status: tuple[bool, bool] | None) -> ClientFault:
    """Why a token was refused; an unknown and a consumed-and-purged token look alike."""
    if status is not None and status[0]:
        return ClientFault(400, "reset_token_used", "this reset link was already used or replaced")
    if status is not None and status[1]:
        return ClientFault(400, "reset_token_expired", "this reset link has expired; ask again")
    return ClientFault(400, "reset_token_invalid", "the reset link is invalid or already used")

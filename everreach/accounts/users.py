"""Accounts: sign-up, log-in, roles, and the command-line admin.

Accounts live in `users`, reachable only as the `everreach_service` role (migration 0002), so
every query here runs inside `as_service`. Emails are compared case-insensitively and stored in
email-validator's normalised form. A log-in with an unknown email does the same Argon2 work as a
wrong password and gets the same answer, so the answer does not reveal which emails have accounts.

Log-in attempts are throttled before any Argon2 work (OWASP ASVS 6.3.1, 6.1.1), keyed on the
address as typed (hashed, whether or not it has an account, so a 429 reveals nothing) and the
client IP, in three limits (`LoginLimits`): per address from one client (a person mistyping, or
one attacker on one account), per client across addresses (password spraying), and per address
from everywhere (a distributed attack on one account). The windows are short, so whoever trips
a limit waits at most a window (Retry-After says how long), and only an attack from many
addresses at once can make a person wait at their own address. Every attempt counts, successful
ones too: the limiter only charges, and no person logs in ten times a minute.

The last admin cannot stop being one (409): an installation always keeps someone who can
administer it. The admins' rows are locked while the change is checked, so two admins demoting
each other at the same moment cannot both succeed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from everreach.accounts.passwords import PasswordHasher, check_password_policy
from everreach.accounts.revocation import AccountStates
from everreach.accounts.tokens import TokenCodec, signing_key
from everreach.platform.problems import ClientFault, too_many_requests
from everreach.platform.rate_limit import RateLimiter, build_rate_limiter
from everreach.platform.rls import as_service
from everreach.platform.settings import Settings
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

ROLES = ("user", "admin")


def normalize_email(raw: str) -> str:
    """The address in normalised form, or a 400 `invalid_email`; no DNS lookups."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ClientFault(400, "invalid_email", f"not a valid email address: {exc}") from exc


def hashed_email(raw_email: str) -> str:
    """A rate-limit key part for an address: the limiter's store never holds addresses."""
    return hashlib.sha256(raw_email.strip().lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LoginLimits:
    per_pair: RateLimiter  # one address from one client IP
    per_ip: RateLimiter  # one client IP, every address
    per_account: RateLimiter  # one address, every client IP

    async def admit(self, raw_email: str, client_ip: str) -> None:
        """Charge one attempt to every limit, or refuse (429 with Retry-After) at the first full."""
        email = hashed_email(raw_email)
        for limiter, key in (
            (self.per_ip, f"login:ip:{client_ip}"),
            (self.per_pair, f"login:pair:{email}:{client_ip}"),
            (self.per_account, f"login:account:{email}"),
        ):
            decision = await limiter.acquire({key: 1})
            if not decision.allowed:
                raise too_many_requests(
                    "login_throttled",
                    "too many log-in attempts; wait before trying again",
                    decision.retry_after_s,
                )

    async def aclose(self) -> None:
        for limiter in (self.per_pair, self.per_ip, self.per_account):
            await limiter.aclose()


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str
    role: str


def _account(row: dict[str, Any]) -> Account:
    """The account of a `users` row, by column name."""
    return Account(user_id=row["user_id"], email=row["email"], role=row["role"])


@dataclass(frozen=True)
class AccessGrant:
    """A successful log-in: the bearer token and what it stands for."""

    access_token: str
    expires_in: int
    account: Account


class Accounts:
    """Sign-up, log-in and role changes over one connection pool."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        hasher: PasswordHasher,
        tokens: TokenCodec,
        states: AccountStates,
        limits: LoginLimits,
    ) -> None:
        self._pool = pool
        self._hasher = hasher
        self._tokens = tokens
        self._states = states
        self._limits = limits

    async def _fetch(self, sql_name: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The one row `sql_name` returns, by column name (None when it returns none)."""
        async with self._pool.connection() as conn, as_service(conn):
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query(sql_name), params)
            return await cursor.fetchone()

    async def signup(self, raw_email: str, password: str) -> Account:
        """A new `user` account; 409 `email_taken` when the address has one."""
        email = normalize_email(raw_email)
        check_password_policy(password)
        row = await self._fetch(
            "insert_user",
            {
                "user_id": uuid.uuid4(),
                "email": email,
                "password_hash": await self._hasher.hash(password),
                "role": "user",
                "now": datetime.now(UTC),
            },
        )
        if row is None:
            raise ClientFault(409, "email_taken", "an account with this email already exists")
        return _account(row)

    async def login(self, raw_email: str, password: str, client_ip: str) -> AccessGrant:
        """A short-lived token; 401 `invalid_credentials` for an unknown email or wrong password,
        429 `login_throttled` past a limit (checked first: a refused attempt costs no hash)."""
        await self._limits.admit(raw_email, client_ip)
        row = await self._fetch("find_user_by_email", {"email": raw_email.strip()})
        verified = await self._hasher.verify(row["password_hash"] if row else None, password)
        if row is None or not verified:
            raise ClientFault(401, "invalid_credentials", "the email or password is wrong")
        account = _account(row)
        token = self._tokens.issue(account.user_id, role=account.role, now=time.time())
        return AccessGrant(token, self._tokens.ttl_s, account)

    async def set_role(self, user_id: uuid.UUID, role: str) -> Account:
        """Change an account's role; its earlier tokens stop working (their role claim is stale)."""
        if role not in ROLES:
            raise ClientFault(400, "invalid_role", f"role must be one of {', '.join(ROLES)}")
        async with self._pool.connection() as conn, as_service(conn):
            cursor = await conn.execute(query("lock_admins"))
            admins = {found for (found,) in await cursor.fetchall()}
            if role != "admin" and admins == {user_id}:
                raise ClientFault(
                    409,
                    "last_admin",
                    "this is the only admin; make another account admin first",
                )
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query("set_user_role"), {"user_id": user_id, "role": role})
            row = await cursor.fetchone()
        if row is None:
            raise ClientFault(404, "account_not_found", "no account has this user id")
        self._states.forget(str(user_id))
        return _account(row)

    async def create_admin(self, raw_email: str, password: str) -> tuple[Account, bool]:
        """An admin with this password: created, or an existing account promoted (True = new)."""
        email = normalize_email(raw_email)
        check_password_policy(password)
        row = await self._fetch(
            "upsert_admin",
            {
                "user_id": uuid.uuid4(),
                "email": email,
                "password_hash": await self._hasher.hash(password),
                "now": datetime.now(UTC),
            },
        )
        assert row is not None  # an upsert always returns its row
        self._states.forget(row["user_id"])
        return _account(row), bool(row["created"])


async def create_admin_account(
    settings: Settings, database_url: str, raw_email: str, password: str
) -> tuple[Account, bool]:
    """`everreach create-admin`: `Accounts.create_admin` over a one-connection pool."""
    async with AsyncConnectionPool(database_url, min_size=1, max_size=1, open=False) as pool:
        accounts = Accounts(
            pool,
            await asyncio.to_thread(PasswordHasher),
            TokenCodec(signing_key(settings), settings.access_token_ttl_s),
            AccountStates(pool, settings.credentials_cache_s),
            login_limits(settings, redis_url=None),  # the command logs no one in
        )
        return await accounts.create_admin(raw_email, password)


def login_limits(settings: Settings, redis_url: str | None) -> LoginLimits:
    """The log-in limiters the settings ask for; shared through Redis when given its URL."""
    window, account_window = settings.login_limit_window_s, settings.login_limit_account_window_s
    return LoginLimits(
        per_pair=build_rate_limiter(redis_url, settings.login_limit_per_pair, window),
        per_ip=build_rate_limiter(redis_url, settings.login_limit_per_ip, window),
        per_account=build_rate_limiter(redis_url, settings.login_limit_per_account, account_window),
    )

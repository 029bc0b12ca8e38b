"""Passwords: the length policy and Argon2id hashing (argon2-cffi, RFC 9106 low-memory profile).

Hashing costs tens of milliseconds of CPU and 64 MiB of memory on purpose; it runs on a worker
thread so the event loop keeps serving other requests meanwhile. At most `concurrency` hashes
run at once per process (`EVERREACH_PASSWORD_HASH_CONCURRENCY`, default 1): the others wait on a
semaphore, holding neither a core nor 64 MiB, so a flood of log-ins or resets can slow log-ins
down but can never take the cores and memory that ingest needs.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

from everreach.platform.problems import ClientFault

T = TypeVar("T")

MIN_LENGTH = 8
MAX_LENGTH = 128


def check_password_policy(password: str) -> None:
    """8 to 128 characters (ASVS 6.2.1/6.2.9); nothing else is imposed on its composition."""
    if len(password) < MIN_LENGTH:
        raise ClientFault(
            400, "password_too_short", f"the password needs at least {MIN_LENGTH} characters"
        )
    if len(password) > MAX_LENGTH:
        raise ClientFault(
            400, "password_too_long", f"the password may have at most {MAX_LENGTH} characters"
        )


class PasswordHasher:
    """Argon2id hashes and checks, off the event loop."""

    def __init__(self, concurrency: int = 1) -> None:
        self._argon2 = Argon2Hasher()  # Argon2id with argon2-cffi's RFC 9106 defaults
        # Checked when an email has no account, so an unknown login costs what a known one does.
        self._decoy = self._argon2.hash(secrets.token_hex(16))
        self._slots = asyncio.Semaphore(concurrency)

    async def _in_thread(self, work: Callable[..., T], *args: str) -> T:
        async with self._slots:
            return await asyncio.to_thread(work, *args)

    async def hash(self, password: str) -> str:
        return await self._in_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (no account) the same work is done anyway."""
        try:
            return (
                await self._in_thread(self._argon2.verify, password_hash or self._decoy, password)
                and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

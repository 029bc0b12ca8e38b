"""Suppression: after an erasure, the person's identifiers are refused at the collector.

Only a keyed hash of each identifier is kept (HMAC-SHA256 with the server's privacy secret,
`EVERREACH_PRIVACY_SECRET`, else a key generated under `EVERREACH_HOME/secrets/`): enough to
recognise an identifier when it comes back, useless to anyone reading the table without the key,
and not reversible by hashing a list of guessed ids. User ids and anonymous ids share one
namespace, so an SDK that reuses a user id as its anonymous distinct_id is refused too.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from psycopg import AsyncConnection

from everreach.platform.secrets import home_secret
from everreach.platform.settings import Settings
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

PRIVACY_SECRET_FILE = "privacy_secret"


class IdentifierHasher:
    """The keyed hash under which an identifier is suppressed."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def __call__(self, identifier: str) -> bytes:
        # hmac.digest: the same bytes as hmac.new(...).digest(), in one C call (OpenSSL's
        # one-shot HMAC) rather than an HMAC object built in Python; the collector hashes every
        # id of every request.
        return hmac.digest(self._key, identifier.encode(), "sha256")


def identifier_hasher(settings: Settings) -> IdentifierHasher:
    return IdentifierHasher(home_secret(settings, PRIVACY_SECRET_FILE, settings.privacy_secret))


async def suppressed_among(
    conn: AsyncConnection, hasher: IdentifierHasher, identifiers: Iterable[str | None]
) -> set[str]:
    """The identifiers of `identifiers` that an erasure suppressed (one indexed lookup)."""
    by_hash = {hasher(identifier): identifier for identifier in identifiers if identifier}
    if not by_hash:
        return set()
    cursor = await conn.execute(query("find_suppressed"), {"hashes": list(by_hash)})
    return {by_hash[bytes(row[0])] for row in await cursor.fetchall()}

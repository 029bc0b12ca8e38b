"""Access on request (GDPR Art. 15): everything stored about a person, as JSON Lines, streamed.

Each line is `{"table": ..., "row": {...}}`: first a header line (`"table": "export"`: whose data,
when), then the account (without its password hash), then every row an erasure would delete
(`erasure.py`): events under the user id and the person's own anonymous ids, quarantined and SDK
system events, prompts, responses, identity links. Postgres renders each row as JSON; a
server-side cursor hands them over `BATCH_ROWS` at a time, so memory stays flat however long the
person's history is, and each batch goes to the client as one chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
from psycopg import AsyncConnection

from everreach.platform.rls import service_role_within
from everreach.platform.sql_files import sql_folder
from everreach.privacy.erasure import account_id_of

query = sql_folder(__package__)

BATCH_ROWS = 500

_json = msgspec.json.Encoder()


async def export_person(conn: AsyncConnection, user_id: str) -> AsyncIterator[bytes]:
    """The person's data as chunks of JSON Lines; `conn` must be outside any transaction."""
    header = {"user_id": user_id, "generated_at": datetime.now(UTC).isoformat()}
    yield _json.encode({"table": "export", "row": header}) + b"\n"
    async with conn.transaction():
        cursor = await conn.execute(query("erasure_anonymous_ids"), {"user_id": user_id})
        anonymous_ids = [row[0] for row in await cursor.fetchall()]
        account_id = account_id_of(user_id)
        if account_id is not None:
            async with service_role_within(conn):  # accounts: row-level security
                cursor = await conn.execute(query("export_account"), {"account_id": account_id})
                account = await cursor.fetchone()
            if account is not None:
                yield account[0].encode() + b"\n"
        rows = conn.cursor(name="person_export")
        await rows.execute(
            query("export_person"), {"user_id": user_id, "anonymous_ids": anonymous_ids}
        )
        while batch := await rows.fetchmany(BATCH_ROWS):
            yield "".join(line + "\n" for (line,) in batch).encode()
        await rows.close()

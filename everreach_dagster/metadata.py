"""What the UI shows about a table: row count, columns and types, and a small preview."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import psycopg
from psycopg import sql

from everreach.datasets import SCHEMA, SqlModel, Window

PREVIEW_ROWS = 5
PREVIEW_CHARS = 60


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _type_name(conn: psycopg.Connection, oid: int) -> str:
    info = conn.adapters.types.get(oid)
    return info.name if info else f"oid {oid}"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table_metadata(
    conn: psycopg.Connection, model: SqlModel, window: Window | None
) -> dict[str, Any]:
    """Row count (of the window for a partitioned model), column schema and a preview."""
    target = sql.Identifier(SCHEMA, model.name)
    where = sql.SQL("")
    if window is not None and model.partition_column:
        column = sql.Identifier(model.partition_column)
        where = sql.SQL(" WHERE {} >= {} AND {} < {}").format(
            column, sql.Literal(window[0]), column, sql.Literal(window[1])
        )
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}{}").format(target, where)).fetchone()
    cur = conn.execute(
        sql.SQL("SELECT * FROM {}{} ORDER BY 1 LIMIT {}").format(
            target, where, sql.Literal(PREVIEW_ROWS)
        )
    )
    assert cur.description is not None and count is not None
    columns = [dg.TableColumn(c.name, _type_name(conn, c.type_code)) for c in cur.description]
    return {
        "dagster/row_count": dg.MetadataValue.int(count[0]),
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "dagster/relation_identifier": f"{SCHEMA}.{model.name}",
        "preview": dg.MetadataValue.md(
            markdown_table([c.name for c in cur.description], cur.fetchall())
        ),
    }

"""Stream a query's rows into Parquet, CSV or JSON Lines files with bounded memory.

Why `COPY (query) TO STDOUT` rather than a cursor: Postgres formats the rows in C, and Arrow's
CSV reader parses them in C++ straight into columnar batches, so no Python object is built per
row or per value. Memory is bounded by one read block plus one Parquet row group, whatever the
number of rows. The CSV file is the COPY output itself (Postgres quotes and escapes it
correctly), teed to disk while Arrow parses it.

Same rows in the same order give byte-identical files: row groups are cut at fixed row counts
(not wherever a network read happened to end) and no timestamps are written into the files.
The caller's query must therefore have a deterministic ORDER BY.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg import sql

FORMATS = ("parquet", "csv", "json")
EXTENSIONS = {"parquet": "parquet", "csv": "csv", "json": "jsonl"}
ROW_GROUP_ROWS = 32_000
READ_BLOCK_BYTES = 1 << 20

# Postgres type name -> Arrow type. Anything else travels as text.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "numeric": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class WrittenFile:
    """A file written from a query: where, how many rows, and its fingerprint."""

    path: Path
    rows: int
    sha256: str
    bytes: int


def prepare_session(conn: psycopg.Connection) -> None:
    """Make the text form of values independent of the server's defaults (same bytes anywhere)."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET datestyle = 'ISO, YMD'")
    conn.execute("SET extra_float_digits = 1")


def arrow_schema(conn: psycopg.Connection, query: str) -> pa.Schema:
    """The Arrow schema of the query's result, from Postgres' own column types (no rows read)."""
    cur = conn.execute(sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(sql.SQL(query)))  # type: ignore[arg-type]
    assert cur.description is not None
    fields = []
    for column in cur.description:
        info = conn.adapters.types.get(column.type_code)
        pg_type = info.name if info else "text"
        fields.append(pa.field(column.name, _ARROW_TYPES.get(pg_type, pa.string())))
    return pa.schema(fields)


class _CopyReader(io.RawIOBase):
    """A readable stream over COPY output chunks; each chunk is also handed to `tee`."""

    def __init__(self, chunks: Iterator[Any], tee: Callable[[Any], object] | None) -> None:
        self._chunks = chunks
        self._tee = tee
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            if self._tee is not None:
                self._tee(chunk)
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _csv_reader(stream: BinaryIO, schema: pa.Schema) -> pa_csv.CSVStreamingReader:
    """Arrow's streaming parser for Postgres CSV: unquoted empty is NULL, `""` is empty text."""
    return pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(
            column_names=schema.names, block_size=READ_BLOCK_BYTES, use_threads=True
        ),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema,
            true_values=["t"],
            false_values=["f"],
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


class _RowGroupWriter:
    """Writes Arrow batches to Parquet in row groups of exactly `ROW_GROUP_ROWS` (last: fewer)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(
            path, schema, compression="zstd", compression_level=3, write_statistics=True
        )
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        while self._pending_rows >= ROW_GROUP_ROWS:
            table = pa.Table.from_batches(self._pending)
            self._flush(table.slice(0, ROW_GROUP_ROWS))
            rest = table.slice(ROW_GROUP_ROWS)
            self._pending = rest.to_batches()
            self._pending_rows = rest.num_rows

    def _flush(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += table.num_rows

    def close(self, schema: pa.Schema) -> None:
        if self._pending_rows or not self.rows:
            self._flush(pa.Table.from_batches(self._pending, schema=schema))
        self._writer.close()


def _copy_sql(query: str, options: str) -> sql.Composed:
    return sql.SQL("COPY ({}) TO STDOUT WITH ({})").format(sql.SQL(query), sql.SQL(options))  # type: ignore[arg-type]


def _fingerprint(path: Path, rows: int) -> WrittenFile:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return WrittenFile(path=path, rows=rows, sha256=digest.hexdigest(), bytes=path.stat().st_size)


def _csv_header(schema: pa.Schema) -> bytes:
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(schema.names)
    return header.getvalue().encode()


def write_query(
    conn: psycopg.Connection, query: str, parquet_path: Path, csv_path: Path | None = None
) -> dict[str, WrittenFile]:
    """One pass of COPY over `query` into a Parquet file and, optionally, the same rows as CSV."""
    prepare_session(conn)
    schema = arrow_schema(conn, query)
    with contextlib.ExitStack() as stack:
        tee = None
        if csv_path is not None:
            csv_file = stack.enter_context(csv_path.open("wb"))
            csv_file.write(_csv_header(schema))
            tee = csv_file.write
        copy = stack.enter_context(conn.cursor().copy(_copy_sql(query, "FORMAT csv")))
        parquet = _RowGroupWriter(parquet_path, schema)
        stream = io.BufferedReader(_CopyReader(iter(copy), tee), 1 << 20)
        if stream.peek(1):  # Arrow refuses an empty CSV stream; no rows means no batches
            for batch in _csv_reader(stream, schema):
                parquet.write(batch)
        parquet.close(schema)
    written = {"parquet": _fingerprint(parquet_path, parquet.rows)}
    if csv_path is not None:
        written["csv"] = _fingerprint(csv_path, parquet.rows)
    return written


def write_csv(conn: psycopg.Connection, query: str, path: Path) -> WrittenFile:
    """The rows as CSV with a header line, exactly as Postgres quotes them."""
    prepare_session(conn)
    schema = arrow_schema(conn, query)
    with path.open("wb") as out, conn.cursor().copy(_copy_sql(query, "FORMAT csv")) as copy:
        out.write(_csv_header(schema))
        for chunk in copy:
            out.write(chunk)
    return _fingerprint(path, count_csv_rows(path))


def write_json_lines(conn: psycopg.Connection, query: str, path: Path) -> WrittenFile:
    """Rows as JSON objects, one per line, each built by Postgres (`row_to_json`).

    COPY's CSV mode with a quote and a delimiter that JSON text never contains raw (JSON escapes
    control characters) passes each line through untouched, unlike COPY's text mode, which would
    double every backslash.
    """
    prepare_session(conn)
    rows = 0
    inner = sql.SQL("SELECT row_to_json(q)::text FROM ({}) AS q").format(sql.SQL(query))  # type: ignore[arg-type]
    options = sql.SQL("FORMAT csv, QUOTE {}, DELIMITER {}").format(
        sql.Literal("\x01"), sql.Literal("\x02")
    )
    copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH ({})").format(inner, options)
    with path.open("wb") as out, conn.cursor().copy(copy_sql) as copy:
        for chunk in copy:
            out.write(chunk)
            rows += bytes(chunk).count(b"\n")
    return _fingerprint(path, rows)


def count_csv_rows(source: Path | BinaryIO) -> int:
    """Data rows of a CSV file with a header, parsed (quoted newlines are not row breaks)."""
    schema_free = pa_csv.open_csv(
        source,
        read_options=pa_csv.ReadOptions(block_size=READ_BLOCK_BYTES),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(include_columns=[]),
    )
    return sum(batch.num_rows for batch in schema_free)

"""Dataset partitions and exports under the datasets root (a local folder or `s3://bucket/prefix`).

Layout (Hive-style, one folder per day):

    <root>/<dataset>/dt=YYYY-MM-DD/part-00000.parquet
    <root>/csv/<dataset>/dt=YYYY-MM-DD/part-00000.csv
    <root>/manifests/<dataset>/dt=YYYY-MM-DD/_manifest.json
    <root>/exports/ml_export_<days>d_<epoch ms>.<csv|parquet|jsonl>

`<root>/<dataset>` holds Parquet files only, so pandas, pyarrow, polars, DuckDB and Hugging Face
`datasets` open the folder as one table (with a `dt` column where the reader understands Hive
partitions). Any other file there breaks a reader: polars and `datasets` refuse a directory
that also holds a `_manifest.json`, pyarrow one that holds a CSV. So the CSV copy and the
manifests live in trees of their own.

Files are written to a local scratch folder first (bounded memory, see `tabular_writer.py`),
fingerprinted, then copied to the root through a pyarrow filesystem: the same code path serves the
local disk and any S3 endpoint. The manifest holds no write time, so writing the same rows twice
gives byte-identical files and an identical manifest.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from psycopg import sql

from everreach.datasets.sql_models import SqlModel, qualified
from everreach.datasets.tabular_writer import (
    EXTENSIONS,
    WrittenFile,
    arrow_schema,
    count_csv_rows,
    write_csv,
    write_json_lines,
)
from everreach.datasets.tabular_writer import write_query as write_parquet_and_csv
from everreach.platform.days import Window, day_window
from everreach.platform.settings import Settings
from everreach.platform.sql_files import sql_folder
from everreach.privacy.pii import scrub_text

query = sql_folder(__package__)

MANIFEST = "_manifest.json"
PARQUET = "part-00000.parquet"
CSV = "part-00000.csv"
CSV_TREE = "csv"
MANIFEST_TREE = "manifests"
COPY_BLOCK_BYTES = 8 << 20
EXPORTS = "exports"  # the folder of ML dumps under the root

Presigner = Callable[[str, str, int], str]
"""(bucket, key, ttl seconds) -> URL."""


@dataclass(frozen=True)
class DatasetStore:
    """Where datasets live: a pyarrow filesystem and a base path in it."""

    uri: str
    fs: pafs.FileSystem
    base: str
    presign: Presigner | None = None

    @classmethod
    def local(cls, folder: str | Path) -> DatasetStore:
        path = Path(folder).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return cls(uri=str(path), fs=pafs.LocalFileSystem(), base=str(path))

    @classmethod
    def s3(
        cls,
        uri: str,
        *,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        presign: Presigner | None,
    ) -> DatasetStore:
        """`s3://bucket/prefix` on AWS or any S3-compatible endpoint."""
        parsed = urlparse(uri)
        options: dict[str, Any] = {"region": region}
        if endpoint_url:
            endpoint = urlparse(endpoint_url)
            options["endpoint_override"] = endpoint.netloc or endpoint_url
            options["scheme"] = endpoint.scheme or "https"
        if access_key and secret_key:
            options["access_key"] = access_key
            options["secret_key"] = secret_key
        base = f"{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")
        return cls(uri=uri.rstrip("/"), fs=pafs.S3FileSystem(**options), base=base, presign=presign)

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    def path(self, *parts: str) -> str:
        """Path of a file inside the filesystem (`bucket/prefix/...` on S3)."""
        return "/".join((self.base, *parts))

    def uri_of(self, *parts: str) -> str:
        """Where a human or another tool finds the file: `s3://...` or a local path."""
        return "/".join((self.uri, *parts))

    def presigned_url(self, *parts: str, ttl_s: int) -> str | None:
        """A presigned URL to download the file from S3; None on a local root.

        A local file has no URL a client could use (a `file://` URL would only reveal the
        server's folders): the API serves it itself (`iter_bytes`).
        """
        if not self.is_s3:
            return None
        if self.presign is None:
            raise RuntimeError("this S3 store has no presigner")
        bucket, _, key = self.path(*parts).partition("/")
        return self.presign(bucket, key, ttl_s)

    def put(self, local: Path, *parts: str) -> None:
        """Copy a local file to the store, creating folders as needed."""
        with local.open("rb") as source, self._open_output(*parts) as sink:
            while block := source.read(COPY_BLOCK_BYTES):
                sink.write(block)

    def put_bytes(self, data: bytes, *parts: str) -> None:
        """Write a small file (a chart) to the store."""
        with self._open_output(*parts) as sink:
            sink.write(data)

    def _open_output(self, *parts: str) -> pa.NativeFile:
        """A write stream; local folders are created first (S3 has no folders)."""
        target = self.path(*parts)
        if not self.is_s3:
            self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        return self.fs.open_output_stream(target)

    def iter_bytes(self, *parts: str) -> Iterator[bytes]:
        """The file in blocks, for streaming a download; FileNotFoundError when it is absent."""
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            while block := stream.read(COPY_BLOCK_BYTES):
                yield block

    def read_bytes(self, *parts: str) -> bytes:
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            return stream.readall()

    def parquet_rows(self, *parts: str) -> int:
        """Rows of a Parquet file, from its footer (the data is not read)."""
        with self.fs.open_input_file(self.path(*parts)) as handle:
            return pq.ParquetFile(handle).metadata.num_rows


# --------------------------------------------------------------------------------------------------
# Daily partitions


@dataclass(frozen=True)
class FileEntry:
    """A file of a partition; `path` is relative to the datasets root."""

    name: str
    rows: int
    bytes: int
    sha256: str
    path: str


@dataclass(frozen=True)
class Manifest:
    """What a partition folder holds, enough to check and load it without reading the data."""

    dataset: str
    partition: str
    rows: int
    columns: list[dict[str, str]]
    files: list[FileEntry]
    source: str
    source_window: dict[str, str]
    code_version: str

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        data["files"] = [FileEntry(**f) for f in data["files"]]
        return cls(**data)


def partition_parts(dataset: str, day: date) -> tuple[str, str]:
    """The day's folder of Parquet (and manifest) under the datasets root."""
    return dataset, f"dt={day.isoformat()}"


def csv_parts(dataset: str, day: date) -> tuple[str, str, str]:
    """The day's folder of CSV, in the CSV tree beside the Parquet one."""
    return CSV_TREE, *partition_parts(dataset, day)


def manifest_parts(dataset: str, day: date) -> tuple[str, str, str, str]:
    """The day's manifest, in the manifests tree beside the Parquet one."""
    return MANIFEST_TREE, *partition_parts(dataset, day), MANIFEST


def data_days(conn: psycopg.Connection) -> tuple[date, date] | None:
    """The first and the last UTC day with data, or None on an empty database: daily
    partitions start at the first (unless EVERREACH_PARTITIONS_START says otherwise)."""
    first, last = conn.execute(query("select_data_days")).fetchone() or (None, None)
    return (first, last) if first is not None else None


def code_version(model: SqlModel) -> str:
    """The package version and the model's SQL fingerprint: what produced these rows."""
    package = "everreach-analytics"
    return f"{package} {version(package)}; {model.name}@{model.code_version}"


def partition_query(model: SqlModel, window: Window) -> str:
    """The materialized partition's rows, in a stable order (same rows, same bytes)."""
    assert model.partition_column is not None
    start, end = (f"'{bound.isoformat()}'::timestamptz" for bound in window)
    column = model.partition_column
    return (
        f"SELECT * FROM {qualified(model.name)} "
        f"WHERE {column} >= {start} AND {column} < {end} ORDER BY {column}, 1"
    )


def write_partition(
    conn: psycopg.Connection, store: DatasetStore, model: SqlModel, day: date
) -> Manifest:
    """Write one day of a materialized partitioned model as Parquet + CSV + manifest."""
    window = day_window(day)
    query = partition_query(model, window)
    parts = partition_parts(model.name, day)
    with tempfile.TemporaryDirectory(prefix="everreach-partition-") as scratch:
        folder = Path(scratch)
        written = write_parquet_and_csv(conn, query, folder / PARQUET, folder / CSV)
        schema = arrow_schema(conn, query)
        manifest = Manifest(
            dataset=model.name,
            partition=day.isoformat(),
            rows=written["parquet"].rows,
            columns=[{"name": f.name, "type": str(f.type)} for f in schema],
            files=[
                _entry(written["parquet"], "/".join((*parts, PARQUET))),
                _entry(written["csv"], "/".join((*csv_parts(model.name, day), CSV))),
            ],
            source=qualified(model.name),
            source_window={"start": window[0].isoformat(), "end": window[1].isoformat()},
            code_version=code_version(model),
        )
        (folder / MANIFEST).write_bytes(manifest.to_json())
        store.put(folder / PARQUET, *parts, PARQUET)
        store.put(folder / CSV, *csv_parts(model.name, day), CSV)
        store.put(folder / MANIFEST, *manifest_parts(model.name, day))
    return manifest


def read_manifest(store: DatasetStore, dataset: str, day: date) -> Manifest:
    return Manifest.from_json(store.read_bytes(*manifest_parts(dataset, day)))


@dataclass(frozen=True)
class PartitionCounts:
    """Rows of a written partition as each of its parts tells them."""

    manifest: int
    parquet: int
    csv: int


def count_partition(store: DatasetStore, dataset: str, day: date) -> PartitionCounts:
    """Count the rows of a partition from its manifest, Parquet footer and parsed CSV."""
    parts = partition_parts(dataset, day)
    with store.fs.open_input_stream(store.path(*csv_parts(dataset, day), CSV)) as stream:
        csv_rows = count_csv_rows(stream)
    return PartitionCounts(
        manifest=read_manifest(store, dataset, day).rows,
        parquet=store.parquet_rows(*parts, PARQUET),
        csv=csv_rows,
    )


def model_rows_by_day(conn: psycopg.Connection, model: SqlModel, window: Window) -> dict[date, int]:
    """The model table's rows per UTC day of `window` (days without rows are absent)."""
    statement = sql.SQL(query("count_model_rows_by_day")).format(
        table=sql.Identifier(*qualified(model.name).split(".")),
        column=sql.Identifier(model.partition_column),
    )
    return dict(conn.execute(statement, window).fetchall())


def pii_findings(
    store: DatasetStore, dataset: str, day: date, columns: tuple[str, ...]
) -> dict[str, int]:
    """Values per text column of the partition's Parquet file that still hold a PII pattern.

    Reads the file back in row-group batches (bounded memory) and asks `everreach.privacy.pii`
    whether scrubbing would change each value: the collector scrubbed them, so any hit is a
    leak.
    """
    found = dict.fromkeys(columns, 0)
    with store.fs.open_input_file(store.path(*partition_parts(dataset, day), PARQUET)) as handle:
        for batch in pq.ParquetFile(handle).iter_batches(columns=list(columns)):
            for column in columns:
                for value in batch.column(column).to_pylist():
                    if value and scrub_text(value) != value:
                        found[column] += 1
    return found


def preview_rows(store: DatasetStore, dataset: str, day: date, rows: int) -> list[dict[str, Any]]:
    """The first rows of a partition, for the UI."""
    with store.fs.open_input_file(store.path(*partition_parts(dataset, day), PARQUET)) as handle:
        batch = next(pq.ParquetFile(handle).iter_batches(batch_size=rows), None)
    return batch.to_pylist() if batch is not None else []


def _entry(written: WrittenFile, path: str) -> FileEntry:
    return FileEntry(written.path.name, written.rows, written.bytes, written.sha256, path)


# --------------------------------------------------------------------------------------------------
# One-file exports


@dataclass(frozen=True)
class ExportFile:
    """An export written under `<root>/exports/`."""

    file_name: str
    rows: int
    sha256: str
    bytes: int


def export_query(
    conn: psycopg.Connection, store: DatasetStore, query: str, fmt: str, stem: str
) -> ExportFile:
    """Stream `query` into one file `<stem>.<ext>` under `<root>/exports/`."""
    file_name = f"{stem}.{EXTENSIONS[fmt]}"
    with tempfile.TemporaryDirectory(prefix="everreach-export-") as scratch:
        local = Path(scratch) / file_name
        if fmt == "parquet":
            written = write_parquet_and_csv(conn, query, local)["parquet"]
        elif fmt == "csv":
            written = write_csv(conn, query, local)
        else:
            written = write_json_lines(conn, query, local)
        store.put(local, EXPORTS, file_name)
    return ExportFile(file_name, written.rows, written.sha256, written.bytes)


def presigner(client: Any) -> Presigner:
    """Presigned GET URLs from a boto3 S3 client (dagster-aws's S3Resource hands one out)."""

    def presign(bucket: str, key: str, ttl_s: int) -> str:
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=ttl_s
        )

    return presign


def store_from_settings(settings: Settings) -> DatasetStore:
    """The configured datasets root, for callers outside Dagster (the export API)."""
    uri = settings.datasets_uri
    if not uri.startswith("s3://"):
        return DatasetStore.local(uri)
    import boto3

    secret = settings.s3_secret_access_key
    secret_key = secret.get_secret_value() if secret else None
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret_key,
    )
    return DatasetStore.s3(
        uri,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key=settings.s3_access_key_id,
        secret_key=secret_key,
        presign=presigner(client),
    )

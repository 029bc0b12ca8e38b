"""The ML dump: the last N days of `ml_response_samples` as one file under the datasets root.

Reads the model's SQL inlined over the source tables (`sql_models.inline_select`), so an
export is current even when Dagster has not run, and is the same definition the dataset
partitions use. The file is streamed (bounded memory) and named as the original service named
it: `ml_export_<days>d_<epoch ms>.<ext>`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from everreach.datasets.partitions import EXPORTS, DatasetStore, export_query
from everreach.datasets.sql_models import inline_select, load_models
from everreach.datasets.tabular_writer import FORMATS
from everreach.platform.database import analytics_connection
from everreach.platform.integers import parse_bounded_int
from everreach.platform.problems import ClientFault

MODEL = "ml_response_samples"
MAX_DAYS = 365
DEFAULT_DAYS = 30
DEFAULT_FORMAT = "csv"


@dataclass(frozen=True)
class ExportRequest:
    days: int
    format: str

    @classmethod
    def parse(cls, days: str | None, fmt: str | None) -> ExportRequest:
        """Check the query parameters; a `ClientFault` (400) says precisely what is wrong."""
        n = (
            DEFAULT_DAYS
            if days is None
            else parse_bounded_int(days, name="days", low=1, high=MAX_DAYS, code="invalid_days")
        )
        chosen = DEFAULT_FORMAT if fmt is None else fmt
        if chosen not in FORMATS:
            raise ClientFault(
                400,
                "invalid_format",
                f"format must be one of {', '.join(FORMATS)}, got {fmt[:40]!r}",
                extra={"field": "format"},
            )
        return cls(n, chosen)


_EXPORT_NAME = re.compile(r"ml_export_[0-9]{1,3}d_[0-9]{1,16}\.(csv|jsonl|parquet)")


@dataclass(frozen=True)
class ExportResult:
    path: str  # relative to the datasets root: never the server's own folders
    presigned_url: str | None  # on S3; a local file is downloaded through the API
    file_name: str
    record_count: int
    format: str
    start: datetime
    end: datetime


def export_ml_dump(
    database_url: str, store: DatasetStore, request: ExportRequest, url_ttl_s: int
) -> ExportResult:
    """Write the dump; say where it is under the root (and its presigned URL on S3)."""
    end = datetime.now(UTC)
    start = end - timedelta(days=request.days)
    samples = inline_select(load_models(), MODEL, (start, end))
    select = f"SELECT * FROM ({samples}) AS samples ORDER BY created_at, response_id"
    stem = f"ml_export_{request.days}d_{int(end.timestamp() * 1000)}"
    with analytics_connection(database_url) as conn:
        written = export_query(conn, store, select, request.format, stem)
    return ExportResult(
        path=f"{EXPORTS}/{written.file_name}",
        presigned_url=store.presigned_url(EXPORTS, written.file_name, ttl_s=url_ttl_s),
        file_name=written.file_name,
        record_count=written.rows,
        format=request.format,
        start=start,
        end=end,
    )


def export_file_blocks(store: DatasetStore, file_name: str) -> Iterator[bytes]:
    """The blocks of an earlier export, by its file name; 404 for any other name or none.

    Only names the export itself gives are looked up, so a name cannot reach outside `exports/`.
    """
    if not _EXPORT_NAME.fullmatch(file_name):
        raise ClientFault(404, "export_not_found", "no export has this file name")
    blocks = store.iter_bytes(EXPORTS, file_name)
    try:
        first = next(blocks)
    except FileNotFoundError as exc:
        raise ClientFault(404, "export_not_found", "no export has this file name") from exc
    except StopIteration:
        return iter(())
    return itertools.chain((first,), blocks)

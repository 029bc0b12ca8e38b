"""The ML dump: the last N days of `ml_response_samples` as one file under the datasets root.

Reads the model's SQL inlined over the source tables (`sql_models.inline_select`), so an
export is current even when Dagster has not run, and is the same definition the dataset
partitions use. The file is streamed (bounded memory) and named as the original service named
it: `ml_export_<days>d_<epoch ms>.<ext>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from everreach.datasets.partitions import DatasetStore, export_query
from everreach.datasets.sql_models import inline_select, load_models
from everreach.datasets.tabular_writer import FORMATS
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
        if days is None:
            n = DEFAULT_DAYS
        elif not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
            raise ClientFault(
                400, "invalid_days", f"days must be an integer from 1 to {MAX_DAYS}, got {days!r}"
            )
        else:
            n = int(days)
        chosen = DEFAULT_FORMAT if fmt is None else fmt
        if chosen not in FORMATS:
            raise ClientFault(
                400, "invalid_format", f"format must be one of {', '.join(FORMATS)}, got {fmt!r}"
            )
        return cls(n, chosen)


@dataclass(frozen=True)
class ExportResult:
    url: str
    file_name: str
    record_count: int
    format: str
    start: datetime
    end: datetime


def export_ml_dump(
    database_url: str, store: DatasetStore, request: ExportRequest, url_ttl_s: int
) -> ExportResult:
    """Write the dump and return where to download it (presigned on S3, file:// locally)."""
    end = datetime.now(UTC)
    start = end - timedelta(days=request.days)
    samples = inline_select(load_models(), MODEL, (start, end))
    select = f"SELECT * FROM ({samples}) AS samples ORDER BY created_at, response_id"
    stem = f"ml_export_{request.days}d_{int(end.timestamp() * 1000)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        written = export_query(conn, store, select, request.format, stem)
    return ExportResult(
        url=store.url("exports", written.file_name, ttl_s=url_ttl_s),
        file_name=written.file_name,
        record_count=written.rows,
        format=request.format,
        start=start,
        end=end,
    )

"""POST /v1/export/ml-dump: an administrator's one-file dump of recent ML response samples."""

from __future__ import annotations

import msgspec
from anyio import to_thread
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromQuery

from api.guards import require_admin
from api.services import Services
from everreach.datasets import ExportRequest, export_ml_dump, store_from_settings


class DateRange(msgspec.Struct):
    start: str
    end: str


class ExportResponse(msgspec.Struct, rename="camel"):
    url: str
    file_name: str
    record_count: int
    format: str
    date_range: DateRange


class ExportController(Controller):
    path = "/v1/export"
    tags = ["export"]
    guards = [require_admin]

    @post(
        "/ml-dump",
        status_code=200,
        summary="Export the last N days of ML response samples to one file",
        description=(
            "Query: `days` (1-365, default 30), `format` (csv | json | parquet, default csv; "
            "json is JSON Lines). Streams the rows into one file under the datasets root and "
            "returns its URL: presigned on S3, file:// on a local root. Admins only."
        ),
    )
    async def ml_dump(
        self,
        services: NamedDependency[Services],
        days: FromQuery[str | None] = None,
        format: FromQuery[str | None] = None,
    ) -> ExportResponse:
        export = ExportRequest.parse(days, format)
        settings = services.settings
        result = await to_thread.run_sync(
            lambda: export_ml_dump(
                services.pool.conninfo,
                store_from_settings(settings),
                export,
                settings.export_url_ttl_s,
            )
        )
        return ExportResponse(
            url=result.url,
            file_name=result.file_name,
            record_count=result.record_count,
            format=result.format,
            date_range=DateRange(start=result.start.isoformat(), end=result.end.isoformat()),
        )

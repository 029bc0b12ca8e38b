"""The administrator's ML dump: `POST /v1/export/ml-dump` writes it, `GET /v1/export/files/...`
downloads it.

The answer never shows where the server keeps its files: it gives the dump's path relative to the
datasets root and a URL to fetch it, presigned on S3, else this API's own admin-only download.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from anyio import to_thread
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from api.errors import problem_responses
from api.guards import require_admin
from api.services import Services
from everreach.datasets import (
    EXPORT_FORMATS,
    MAX_EXPORT_DAYS,
    ExportRequest,
    export_file_blocks,
    export_ml_dump,
    store_from_settings,
)

DOWNLOAD_PATH = "/v1/export/files"
_MEDIA_TYPES = {
    "csv": "text/csv",
    "jsonl": "application/jsonl",
    "parquet": "application/vnd.apache.parquet",
}


# The query is read as text and checked by `ExportRequest.parse` (ASCII digits only, its own
# problem codes); the spec says what that check accepts.
_DAYS_SCHEMA = {
    "one_of": None,
    "type": OpenAPIType.INTEGER,
    "minimum": 1,
    "maximum": MAX_EXPORT_DAYS,
}
_FORMAT_SCHEMA = {"one_of": None, "type": OpenAPIType.STRING, "enum": list(EXPORT_FORMATS)}


class DateRange(msgspec.Struct):
    start: str
    end: str


class ExportResponse(msgspec.Struct, rename="camel"):
    url: str
    path: str
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
            "returns its `path` relative to that root and a `url` to download it: presigned on "
            f"S3, else `{DOWNLOAD_PATH}/<fileName>` on this API. Admins only."
        ),
        responses=problem_responses(400, 401, 403, 503),
    )
    async def ml_dump(
        self,
        services: NamedDependency[Services],
        days: Annotated[str | None, QueryParameter(schema_extra=_DAYS_SCHEMA)] = None,
        format: Annotated[str | None, QueryParameter(schema_extra=_FORMAT_SCHEMA)] = None,
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
            url=result.presigned_url or f"{DOWNLOAD_PATH}/{result.file_name}",
            path=result.path,
            file_name=result.file_name,
            record_count=result.record_count,
            format=result.format,
            date_range=DateRange(start=result.start.isoformat(), end=result.end.isoformat()),
        )

    @get(
        "/files/{file_name:str}",
        summary="Download an ML dump",
        description="The file an earlier `POST /v1/export/ml-dump` wrote. Admins only.",
        media_type="application/octet-stream",
        responses=problem_responses(401, 403, 404, 503),
    )
    async def download(
        self, services: NamedDependency[Services], file_name: FromPath[str]
    ) -> Stream:
        store = store_from_settings(services.settings)
        blocks = await to_thread.run_sync(lambda: export_file_blocks(store, file_name))
        return Stream(
            blocks,
            media_type=_MEDIA_TYPES[file_name.rsplit(".", 1)[-1]],
            headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
        )

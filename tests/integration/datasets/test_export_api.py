"""POST /v1/export/ml-dump on the real API: admin-only, validated, one file, local or S3."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pyarrow.parquet as pq
import pytest

from tests.helpers import bearer, new_id
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, s3_server

DUMP = "/v1/export/ml-dump"


@pytest.fixture(scope="module")
def response_id(database_url: str) -> str:
    """A response from yesterday (inside every window), and one from 40 days ago."""
    import psycopg

    rid = str(uuid.uuid4())
    now = datetime.now(UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for response, created, text in (
            (rid, now - timedelta(days=1), 'He said "hi",\nthen left'),
            (str(uuid.uuid4()), now - timedelta(days=40), "old"),
        ):
            prompt = uuid.uuid4()
            conn.execute(
                "INSERT INTO prompts (prompt_id, user_id, text, model, created_at) "
                "VALUES (%s, 'u-export', 'prompt', 'gpt-4o-mini', %s)",
                (prompt, created),
            )
            conn.execute(
                "INSERT INTO responses (response_id, prompt_id, user_id, model, text, "
                "tokens_out, cost_usd, latency_ms, created_at) "
                "VALUES (%s, %s, 'u-export', 'gpt-4o-mini', %s, 7, 0.5, 100, %s)",
                (response, prompt, text, created),
            )
    return rid


def admin(tokens) -> dict[str, str]:
    return bearer(tokens, new_id(), role="admin")


def local_file(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    return Path(parsed.path)


def test_without_a_token_is_401(api: httpx.Client) -> None:
    r = api.post(DUMP)
    assert r.status_code == 401
    assert r.json()["code"] == "authentication_required"


def test_a_user_role_is_403(api: httpx.Client, tokens) -> None:
    r = api.post(DUMP, headers=bearer(tokens, new_id(), role="user"))
    assert r.status_code == 403
    assert r.json()["code"] == "admin_required"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"days": "0"}, "invalid_days"),
        ({"days": "366"}, "invalid_days"),
        ({"days": "ten"}, "invalid_days"),
        ({"days": "-3"}, "invalid_days"),
        ({"format": "xlsx"}, "invalid_format"),
    ],
)
def test_bad_parameters_are_400_problems(api: httpx.Client, tokens, params, code) -> None:
    r = api.post(DUMP, params=params, headers=admin(tokens))
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_admin_gets_a_csv_of_the_window_by_default(start_api, tokens, tmp_path, response_id):
    with start_api(datasets_root=str(tmp_path)) as client:
        r = client.post(DUMP, params={"days": "7"}, headers=admin(tokens))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "csv"
    assert body["fileName"].startswith("ml_export_7d_") and body["fileName"].endswith(".csv")
    path = local_file(body["url"])
    assert path.parent == tmp_path / "exports" and path.name == body["fileName"]
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == body["recordCount"]
    mine = [row for row in rows if row["response_id"] == response_id]
    assert len(mine) == 1
    assert mine[0]["response_text"] == 'He said "hi",\nthen left'  # escaped and read back whole
    start = datetime.fromisoformat(body["dateRange"]["start"])
    end = datetime.fromisoformat(body["dateRange"]["end"])
    assert end - start == timedelta(days=7)
    assert all(start <= datetime.fromisoformat(row["created_at"]) < end for row in rows)


def test_json_and_parquet_formats(start_api, tokens, tmp_path, response_id):
    with start_api(datasets_root=str(tmp_path)) as client:
        as_json = client.post(DUMP, params={"format": "json"}, headers=admin(tokens)).json()
        as_parquet = client.post(
            DUMP, params={"format": "parquet", "days": "60"}, headers=admin(tokens)
        ).json()
    lines = local_file(as_json["url"]).read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == as_json["recordCount"]
    assert response_id in {r["response_id"] for r in records}
    table = pq.read_table(local_file(as_parquet["url"]))
    assert table.num_rows == as_parquet["recordCount"] > as_json["recordCount"] - 1
    assert as_parquet["recordCount"] >= 2  # 60 days reach the 40-day-old response too


def test_on_s3_the_url_is_presigned(start_api, tokens, response_id):
    with (
        s3_server() as s3,
        start_api(
            datasets_root=f"s3://{s3.bucket}/dumps",
            s3_endpoint_url=s3.endpoint_url,
            s3_region=REGION,
            s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY,
        ) as client,
    ):
        r = client.post(DUMP, params={"format": "parquet", "days": "3"}, headers=admin(tokens))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["url"].startswith(s3.endpoint_url) and "Signature" in body["url"]
        download = httpx.get(body["url"])
        assert download.status_code == 200
        table = pq.read_table(io.BytesIO(download.content))
        assert table.num_rows == body["recordCount"]
        assert response_id in table.column("response_id").to_pylist()

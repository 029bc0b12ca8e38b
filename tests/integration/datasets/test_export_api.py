"""POST /v1/export/ml-dump on the real API: admin-only, validated, one file, local or S3."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pyarrow.parquet as pq
import pytest

from tests.helpers import account_bearer, bearer, new_id
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


@pytest.fixture(scope="module")
def admin_headers(tokens, database_url) -> dict[str, str]:
    return account_bearer(tokens, database_url, role="admin")


def download(client: httpx.Client, body: dict, headers: dict[str, str]) -> bytes:
    """The export through the API's admin-only download URL (a local root has no other)."""
    assert body["url"] == f"/v1/export/files/{body['fileName']}"
    assert body["path"] == f"exports/{body['fileName']}"
    response = client.get(body["url"], headers=headers)
    assert response.status_code == 200, response.text
    return response.content


def test_without_a_token_is_401(api: httpx.Client) -> None:
    r = api.post(DUMP)
    assert r.status_code == 401
    assert r.json()["code"] == "authentication_required"


def test_a_user_role_is_403(api: httpx.Client, tokens, database_url) -> None:
    r = api.post(DUMP, headers=account_bearer(tokens, database_url, role="user"))
    assert r.status_code == 403
    assert r.json()["code"] == "admin_required"


def test_a_machine_token_claiming_admin_is_not_an_admin(api: httpx.Client, tokens) -> None:
    r = api.post(DUMP, headers=bearer(tokens, new_id(), role="admin"))
    assert r.status_code == 403
    assert r.json()["code"] == "admin_required"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"days": "0"}, "invalid_days"),
        ({"days": "366"}, "invalid_days"),
        ({"days": "ten"}, "invalid_days"),
        ({"days": "-3"}, "invalid_days"),
        ({"days": "\u00b2"}, "invalid_days"),  # superscript two: str.isdigit() says yes
        ({"days": "\u2460"}, "invalid_days"),  # circled one
        ({"days": "\u0663"}, "invalid_days"),  # Arabic-Indic three: int() reads it as 3
        ({"days": "7" * 5000}, "invalid_days"),  # past int()'s 4300-digit limit
        ({"days": " 7"}, "invalid_days"),
        ({"format": "xlsx"}, "invalid_format"),
    ],
)
def test_bad_parameters_are_400_problems(api: httpx.Client, admin_headers, params, code) -> None:
    r = api.post(DUMP, params=params, headers=admin_headers)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert r.json()["field"] == next(iter(params))


def test_admin_gets_a_csv_of_the_window_by_default(start_api, admin_headers, tmp_path, response_id):
    with start_api(datasets_root=str(tmp_path)) as client:
        r = client.post(DUMP, params={"days": "7"}, headers=admin_headers)
        assert r.status_code == 200, r.text
        body = r.json()
        content = download(client, body, admin_headers)
    assert body["format"] == "csv"
    assert body["fileName"].startswith("ml_export_7d_") and body["fileName"].endswith(".csv")
    assert str(tmp_path) not in r.text  # the server's folders stay its own
    assert content == (tmp_path / body["path"]).read_bytes()
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert len(rows) == body["recordCount"]
    mine = [row for row in rows if row["response_id"] == response_id]
    assert len(mine) == 1
    assert mine[0]["response_text"] == 'He said "hi",\nthen left'  # escaped and read back whole
    start = datetime.fromisoformat(body["dateRange"]["start"])
    end = datetime.fromisoformat(body["dateRange"]["end"])
    assert end - start == timedelta(days=7)
    assert all(start <= datetime.fromisoformat(row["created_at"]) < end for row in rows)


def test_json_and_parquet_formats(start_api, admin_headers, tmp_path, response_id):
    with start_api(datasets_root=str(tmp_path)) as client:
        as_json = client.post(DUMP, params={"format": "json"}, headers=admin_headers).json()
        as_parquet = client.post(
            DUMP, params={"format": "parquet", "days": "60"}, headers=admin_headers
        ).json()
        lines = download(client, as_json, admin_headers).decode().splitlines()
        parquet = download(client, as_parquet, admin_headers)
    records = [json.loads(line) for line in lines]
    assert len(records) == as_json["recordCount"]
    assert response_id in {r["response_id"] for r in records}
    table = pq.read_table(io.BytesIO(parquet))
    assert table.num_rows == as_parquet["recordCount"] > as_json["recordCount"] - 1
    assert as_parquet["recordCount"] >= 2  # 60 days reach the 40-day-old response too


def test_downloads_are_for_admins_and_only_of_exports(
    start_api, tokens, database_url, admin_headers, tmp_path
):
    (tmp_path / "secret.csv").write_text("not an export")
    with start_api(datasets_root=str(tmp_path)) as client:
        body = client.post(DUMP, params={"days": "1"}, headers=admin_headers).json()
        user = account_bearer(tokens, database_url, role="user")
        assert client.get(body["url"]).status_code == 401
        assert client.get(body["url"], headers=user).status_code == 403
        for name in ("..%2Fsecret.csv", "secret.csv", "ml_export_1d_1.csv"):
            r = client.get(f"/v1/export/files/{name}", headers=admin_headers)
            assert r.status_code == 404, name
            assert r.json()["code"] in ("export_not_found", "not_found"), name


def test_on_s3_the_url_is_presigned(start_api, admin_headers, response_id):
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
        r = client.post(DUMP, params={"format": "parquet", "days": "3"}, headers=admin_headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["url"].startswith(s3.endpoint_url) and "Signature" in body["url"]
        fetched = httpx.get(body["url"])
        assert fetched.status_code == 200
        table = pq.read_table(io.BytesIO(fetched.content))
        assert table.num_rows == body["recordCount"]
        assert response_id in table.column("response_id").to_pylist()

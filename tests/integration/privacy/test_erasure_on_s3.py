"""Erasure with the datasets on S3 (moto's server on 127.0.0.1): the rebuilt days' objects no
longer hold the person, the other person's rows stay, an untouched day's objects are unchanged."""

from __future__ import annotations

import io
import uuid

import httpx
import pyarrow.parquet as pq
from dagster_aws.s3 import S3Resource

from api.app import create_app
from api.server import serve_in_thread
from everreach.accounts.tokens import TokenCodec
from everreach.platform.migrations import scratch_database
from everreach_dagster.resources import DatasetStorageResource
from tests.conftest import TEST_JWT_SECRET, make_settings
from tests.helpers import account_bearer, bearer, new_id, prompt_props, response_props
from tests.privacy_support import DagsterHarness, dated, past_day, send
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_server

DAYS = [past_day(3), past_day(2)]
OTHER_ONLY_DAY = past_day(4)


def objects(s3: S3Server) -> dict[str, bytes]:
    client = s3.client()
    listed = client.list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    return {
        o["Key"]: client.get_object(Bucket=s3.bucket, Key=o["Key"])["Body"].read() for o in listed
    }


def as_text(key: str, body: bytes) -> str:
    if key.endswith(".parquet"):
        return str(pq.read_table(io.BytesIO(body)).to_pylist())
    return "" if key.endswith(".png") else body.decode()


def prompts(api: httpx.Client, user_id: str, days: list) -> list[str]:
    texts = []
    for day in days:
        prompt = prompt_props(text=f"s3 prompt {uuid.uuid4().hex}")
        texts.append(prompt["text"])
        events = [
            dated("prompt_submitted", day, 9, prompt),
            dated("ai_response_generated", day, 9, response_props(prompt["prompt_id"])),
        ]
        assert send(api, events, bearer(TokenCodec(TEST_JWT_SECRET), user_id))["accepted"] == 2
    return texts


def test_an_erasure_rebuilds_the_s3_partitions_that_held_the_person(
    pg_server_url: str, tmp_path
) -> None:
    with scratch_database(pg_server_url, "everreach_erasure_s3") as url, s3_server() as s3:
        settings = make_settings(tmp_path, url)
        datasets = DatasetStorageResource(
            root=f"s3://{s3.bucket}/lake",
            s3=S3Resource(
                endpoint_url=s3.endpoint_url,
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
            ),
        )
        harness = DagsterHarness(settings, url, tmp_path / "unused", datasets)
        person, other = f"s3-person-{new_id()}", f"s3-other-{new_id()}"
        with (
            serve_in_thread(create_app(settings, url)) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as api,
        ):
            theirs = prompts(api, person, DAYS)
            kept = prompts(api, other, [OTHER_ONLY_DAY, *DAYS])
            harness.build([OTHER_ONLY_DAY, *DAYS])
            before = objects(s3)
            assert any(t in as_text(k, b) for k, b in before.items() for t in theirs)

            admin = account_bearer(TokenCodec(TEST_JWT_SECRET), url, role="admin")
            receipt = api.post(f"/v1/admin/users/{person}/erase", headers=admin).json()
            assert receipt["days"] == [d.isoformat() for d in DAYS]
        for request in harness.tick("late_data_freshness").run_requests:
            harness.run(request, "daily_partitions")

        after = objects(s3)
        assert not [k for k, b in after.items() if any(t in as_text(k, b) for t in theirs)]
        for day in DAYS:
            csv = after[f"lake/csv/ml_response_samples/dt={day}/part-00000.csv"].decode()
            assert any(text in csv for text in kept)
        untouched = [k for k in before if f"dt={OTHER_ONLY_DAY}" in k]
        assert untouched and all(after[k] == before[k] for k in untouched)

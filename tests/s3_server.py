"""A real S3-compatible server for tests: moto's, on 127.0.0.1, with a bucket ready."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from moto.server import ThreadedMotoServer

from api.server import free_port

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )


@contextmanager
def s3_server(bucket: str = "everreach-datasets") -> Iterator[S3Server]:
    port = free_port()
    # Its werkzeug access log (a line per S3 call) would bury a benchmark's or test's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        s3 = S3Server(f"http://127.0.0.1:{port}", bucket)
        # moto keeps its buckets in memory shared by every server of this process: without the
        # reset, a test saw the files an earlier test (another server) had left in its bucket.
        urllib.request.urlopen(
            urllib.request.Request(f"{s3.endpoint_url}/moto-api/reset", method="POST")
        ).close()
        s3.client().create_bucket(Bucket=bucket)
        yield s3
    finally:
        server.stop()

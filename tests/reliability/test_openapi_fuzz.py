"""Schemathesis with every check (`--checks all`) against the OpenAPI document of every
endpoint: no 5xx, every status and content type documented, responses match their schemas,
schema-valid requests accepted and schema-violating ones refused, over at least 1000 cases.

It runs schemathesis's own command line, as a user of the API would, against a real API process;
`schemathesis.toml` beside this file holds the two adjustments to the checks' defaults and why.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import account_bearer

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("schemathesis.toml")
MIN_CASES = 1000


def test_schemathesis_with_every_check_finds_no_failure(start_api, tokens, database_url):
    admin = account_bearer(tokens, database_url, role="admin")  # reaches the admin routes too
    with start_api(
        rate_limit_events=10_000_000,
        posthog_project_keys="phc_fuzz",
        segment_write_keys="fuzz_write_key",
    ) as api:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(CONFIG),
                "run",
                f"{api.base_url}/schema/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: {admin['authorization']}",
                "--max-examples",
                "60",
                "--seed",
                "20261129",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    report = result.stdout + result.stderr
    print(report[report.rfind("Test cases:") :])  # the counts, for `make reliability`'s log
    assert result.returncode == 0, report[-6000:]
    cases = re.search(r"(\d+) generated", report)
    assert cases and int(cases.group(1)) >= MIN_CASES, report[-2000:]

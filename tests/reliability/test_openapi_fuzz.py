"""Schemathesis against the OpenAPI document of every endpoint: no 5xx, and responses match the
spec, over at least 1000 generated cases."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.helpers import new_id

pytestmark = pytest.mark.slow

CASES: Counter[str] = Counter()
MIN_CASES = 1000


@pytest.fixture(scope="module")
def fuzz_api(start_api):
    # A high limit: the fuzzer sends thousands of events from few identities.
    with start_api(rate_limit_events=10_000_000) as client:
        yield client


@pytest.fixture(scope="module")
def openapi_schema(fuzz_api, tokens):
    schema = schemathesis.openapi.from_url(f"{fuzz_api.base_url}/schema/openapi.json")
    schema.config.headers = {"authorization": f"Bearer {tokens.issue(new_id(), account=False)}"}
    return schema


def test_no_server_error_and_responses_match_the_spec(openapi_schema):
    # Schemathesis's pytest plugin does not run on this pytest; its strategies do, driven here.
    for result in openapi_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            response = case.call()
            CASES[f"{case.method} {case.path}"] += 1
            assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
            case.validate_response(response, checks=[response_schema_conformance])

        check()
    assert sum(CASES.values()) >= MIN_CASES, dict(CASES)

"""Property: no hostile value in any field of any endpoint's body or query gets a 5xx (a few
examples per endpoint here; `tests/reliability/test_no_server_errors_long.py` runs many)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.crafted_values import POSTHOG_KEY, SEGMENT_KEY, check_no_server_error, endpoints
from tests.helpers import account_bearer, bearer, new_id

EXAMPLES = 40
NAMES = list(endpoints())


@pytest.fixture(scope="module")
def hostile_api(start_api, tmp_path_factory) -> Iterator[httpx.Client]:
    with start_api(
        posthog_project_keys=POSTHOG_KEY,
        segment_write_keys=SEGMENT_KEY,
        rate_limit_events=10_000_000,
        login_limit_per_pair=1_000_000,
        login_limit_per_account=1_000_000,
        reset_limit_per_ip=1_000_000,
        reset_limit_per_email=1_000_000,
        datasets_root=str(tmp_path_factory.mktemp("datasets")),
    ) as client:
        yield client


@pytest.fixture(scope="module")
def identities(tokens, database_url) -> dict[str, dict[str, str]]:
    return {
        "admin": account_bearer(tokens, database_url, role="admin"),
        "user": account_bearer(tokens, database_url, role="user"),
        "machine": bearer(tokens, new_id()),
    }


def run(client: httpx.Client, identities, name: str, examples: int) -> None:
    endpoint = endpoints()[name]
    headers = identities[endpoint.auth] if endpoint.auth else {}
    check_no_server_error(client, endpoint, headers, examples)


@pytest.mark.parametrize("name", NAMES)
def test_no_hostile_field_or_parameter_gets_a_server_error(hostile_api, identities, name):
    run(hostile_api, identities, name, EXAMPLES)

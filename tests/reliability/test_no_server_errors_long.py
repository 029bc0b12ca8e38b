"""The no-5xx property of `tests/integration/platform/test_no_server_errors.py`, at length:
many random (not derandomized) hostile requests per endpoint."""

from __future__ import annotations

import pytest

from tests.crafted_values import endpoints
from tests.integration.platform.test_no_server_errors import hostile_api, identities, run

pytestmark = pytest.mark.slow

EXAMPLES = 500
__all__ = ["hostile_api", "identities"]  # fixtures shared with the quick run


@pytest.mark.parametrize("name", list(endpoints()))
def test_no_hostile_field_or_parameter_gets_a_server_error_at_length(hostile_api, identities, name):
    run(hostile_api, identities, name, EXAMPLES)

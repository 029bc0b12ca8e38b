"""Whole numbers from client text: ASCII digits only, bounded length and range, refused by name."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from everreach.platform.integers import parse_bounded_int
from everreach.platform.problems import ClientFault


def parse(raw: str) -> int:
    return parse_bounded_int(raw, name="days", low=1, high=365, code="invalid_days")


@pytest.mark.parametrize("raw", ["1", "30", "365", "007"])
def test_ascii_digits_in_range_are_read(raw):
    assert parse(raw) == int(raw)


@pytest.mark.parametrize(
    "raw",
    ["", "0", "366", "-1", "+5", " 5", "5 ", "1_0", "\u00b2", "\u2460", "\u0663", "7" * 5000],
)
def test_anything_else_is_a_400_naming_the_parameter(raw):
    with pytest.raises(ClientFault) as refused:
        parse(raw)
    assert refused.value.status == 400 and refused.value.code == "invalid_days"
    assert refused.value.extra == {"field": "days"}


@given(st.text(max_size=12))
def test_any_text_is_read_or_refused_never_an_unexpected_error(raw):
    with contextlib.suppress(ClientFault):
        assert 1 <= parse(raw) <= 365

"""Whole numbers from client text (query parameters), read strictly.

`int()` is too lenient for client input: it accepts Unicode digits (`int("٣")` is 3, and `"²"`
passes `str.isdigit()` but not `int()`), surrounding spaces, signs and underscores, and it spends
quadratic time on, or refuses with a ValueError, strings of thousands of digits. Here only ASCII
digits are digits, their count is capped by the upper bound, and every refusal is a
`ClientFault` (400) naming the parameter.
"""

from __future__ import annotations

import re

from everreach.platform.problems import ClientFault

_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_bounded_int(raw: str, *, name: str, low: int, high: int, code: str) -> int:
    """`raw` as an integer in [low, high] (0 <= low), or a 400 `code` naming `name`."""
    refusal = ClientFault(
        400,
        code,
        f"`{name}` must be a whole number from {low} to {high} in ASCII digits, got {raw[:40]!r}",
        extra={"field": name},
    )
    if len(raw) > len(str(high)) or not _ASCII_DIGITS.fullmatch(raw):
        raise refusal
    value = int(raw)
    if not low <= value <= high:
        raise refusal
    return value

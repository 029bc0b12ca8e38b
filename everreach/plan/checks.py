"""Per-property checks compiled into closures once, when the plan is loaded.

The collector validates tens of thousands of events per second, so each property's rules become
one closure ``value -> Violation | None`` and validation does no regex compilation or dictionary
building on the hot path. Violation details never echo string values (they may carry PII).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from everreach.plan.model import UUID_TEXT, PropertySpec, Violation

PropertyCheck = Callable[[Any], Violation | None]
"""One property's compiled rules: the violation of a (non-null) value, or None."""


def json_type(value: object) -> str:
    """JSON type name of a decoded value, for violation details."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_datetime(value: str) -> bool:
    """ISO 8601 extended date + time + explicit offset (what RFC 3339 calls date-time)."""
    if len(value) < 20 or value[4] != "-" or value[10] not in "Tt ":
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


_FORMAT_CHECKS: dict[str, Callable[[str], object]] = {"uuid": UUID_TEXT, "date-time": _is_datetime}

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: (type(v) is int) or (type(v) is float and math.isfinite(v)),
    "boolean": lambda v: type(v) is bool,
    "array": lambda v: isinstance(v, list | tuple),
    "object": lambda v: isinstance(v, dict),
}


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def compile_check(p: PropertySpec) -> PropertyCheck:
    """Turn a property spec into one closure ``value -> Violation | None`` (value is not None)."""
    name = p.name
    enum = frozenset(p.enum) if p.enum is not None else None
    enum_text = ", ".join(str(v) for v in p.enum) if p.enum is not None else ""
    lo, hi = p.minimum, p.maximum
    range_text = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"

    def wrong(value: Any) -> Violation:
        return Violation("wrong_type", name, f"expected {p.type}, got {json_type(value)}")

    if p.type == "string":
        max_length = p.max_length
        fmt_name = p.format
        fmt = _FORMAT_CHECKS[fmt_name] if fmt_name is not None else None

        def check_string(value: Any) -> Violation | None:
            if type(value) is not str:
                return wrong(value)
            if enum is not None and value not in enum:
                return Violation("not_in_enum", name, f"expected one of: {enum_text}")
            if max_length is not None and len(value) > max_length:
                return Violation(
                    "too_long", name, f"{len(value)} characters, at most {max_length} allowed"
                )
            if fmt is not None and not fmt(value):
                return Violation("bad_format", name, f"not a valid {fmt_name}")
            return None

        return check_string

    if p.type in ("integer", "number"):
        is_integer = p.type == "integer"
        # Integers must fit Postgres bigint: typed columns (tokens_out, latency_ms) store them,
        # and a value that does not fit would fail the request's whole transaction.
        if is_integer:
            lo = _INT64_MIN if lo is None else max(lo, _INT64_MIN)
            hi = _INT64_MAX if hi is None else min(hi, _INT64_MAX)

        def check_numeric(value: Any) -> Violation | None:
            kind = type(value)
            if kind is not int and (is_integer or kind is not float or not math.isfinite(value)):
                return wrong(value)
            if enum is not None and value not in enum:
                return Violation("not_in_enum", name, f"{value} not one of: {enum_text}")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                return Violation("out_of_range", name, f"{value} outside {range_text}")
            return None

        return check_numeric

    if p.type == "array" and p.items is not None:
        item_type = p.items
        item_ok = _TYPE_TESTS[item_type]

        def check_array(value: Any) -> Violation | None:
            if not isinstance(value, list | tuple):
                return wrong(value)
            for i, item in enumerate(value):
                if not item_ok(item):
                    return Violation(
                        "wrong_type",
                        name,
                        f"element {i}: expected {item_type}, got {json_type(item)}",
                    )
            return None

        return check_array

    type_ok = _TYPE_TESTS[p.type]

    def check_plain(value: Any) -> Violation | None:
        return None if type_ok(value) else wrong(value)

    return check_plain

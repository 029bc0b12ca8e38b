"""The tracking plan's vocabulary: events, properties, labels and the violations of an event.

Plain frozen types with no behaviour beyond what they are; the checks compiled from them live in
`checks.py`, the plan that holds them in `tracking_plan.py`, and `loader.py` builds them from
``analytics/events.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import msgspec

SUPPORTED_VERSIONS = frozenset({1})
PROPERTY_TYPES = ("string", "integer", "number", "boolean", "array", "object")
SCALAR_TYPES = ("string", "integer", "number", "boolean")
FORMATS = ("uuid", "date-time")
LABEL_KINDS = ("duration", "net_count", "ratio")
AGGREGATES = ("median", "mean", "p90", "p95")
USER = "user"
"""``distinct: user`` in a ratio term: the person (user_id, else anonymous_id)."""

VIOLATION_CODES = (
    "unknown_event",
    "missing_property",
    "wrong_type",
    "not_in_enum",
    "out_of_range",
    "too_long",
    "bad_format",
)

EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
UUID_TEXT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
).fullmatch


class PlanError(ValueError):
    """The tracking plan is unreadable or inconsistent. ``str(err)`` is ``file:line: reason``."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}" if line is not None else f"{path}: {reason}")


class Violation(msgspec.Struct, frozen=True, gc=False):
    """One way an event breaks the plan. ``code`` is stable and machine-readable.

    ``property`` is the offending property (``None`` for ``unknown_event``); ``detail`` is for
    humans and never contains string values from the event.
    """

    code: str
    property: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """A planned property of an event, with its optional constraints."""

    name: str
    type: str
    required: bool = False
    description: str = ""
    enum: tuple[str | int, ...] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    max_length: int | None = None
    format: str | None = None
    items: str | None = None


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A planned event. ``pre_auth`` events may be sent without a login."""

    name: str
    category: str
    description: str
    pre_auth: bool
    properties: Mapping[str, PropertySpec]


WITHIN_ANY_TIME = "denominator"
WITHIN_SAME_DAY = "day"
WITHIN_SPAN = re.compile(r"([1-9][0-9]{0,3})([hd])")


@dataclass(frozen=True, slots=True)
class RatioTerm:
    """One side of a ratio label: count distinct ``distinct`` values among ``event`` rows.

    ``distinct`` is ``"user"`` (the person: user_id, else anonymous_id) or a property name.
    The numerator only ever counts the denominator's keys (a ratio stays between 0 and 1);
    ``within`` (numerator only) says when its event counts: ``None`` or ``"day"`` on the same
    UTC day as the key's denominator event, ``"denominator"`` at any time, ``"<n>h"`` / ``"<n>d"``
    within that span after the key's first denominator event of the day.
    """

    event: str
    distinct: str
    within: str | None = None

    @property
    def by_user(self) -> bool:
        """True when the term counts people rather than property values."""
        return self.distinct == USER

    @property
    def within_hours(self) -> int | None:
        """The span of a ``"<n>h"`` / ``"<n>d"`` ``within``, in hours; None otherwise."""
        match = WITHIN_SPAN.fullmatch(self.within or "")
        if match is None:
            return None
        return int(match[1]) * (24 if match[2] == "d" else 1)


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """Base of the ML label definitions; ``kind`` tells which subclass it is."""

    kind: ClassVar[str] = ""
    name: str
    description: str

    @property
    def events(self) -> tuple[str, ...]:
        """Every event the label reads, in definition order, without repeats."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class NetCountLabel(LabelSpec):
    """Per entity (keyed by property ``key``): count of ``plus`` events minus ``minus`` events."""

    kind: ClassVar[str] = "net_count"
    entity: str
    key: str
    plus: tuple[str, ...]
    minus: tuple[str, ...]

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.plus, *self.minus)))


@dataclass(frozen=True, slots=True)
class RatioLabel(LabelSpec):
    """``count(numerator) / count(denominator)``, optionally grouped ``by`` denominator properties.

    Numerator rows are joined to denominator rows on the shared distinct key (the loader
    enforces that both terms use the same ``distinct``); with ``by`` they are grouped by the
    denominator event's properties.
    """

    kind: ClassVar[str] = "ratio"
    numerator: RatioTerm
    denominator: RatioTerm
    by: tuple[str, ...] = ()

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.numerator.event, self.denominator.event)))


@dataclass(frozen=True, slots=True)
class DurationLabel(LabelSpec):
    """Milliseconds from ``start`` to the first ``end`` event after it, per entity, aggregated."""

    kind: ClassVar[str] = "duration"
    entity: str
    key: str
    start: str
    end: tuple[str, ...]
    aggregate: str

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.start, *self.end)))

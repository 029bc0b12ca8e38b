"""The tracking plan: load ``analytics/events.yml``, check it, and validate events against it.

The plan is the single source of truth for which product events exist, what their properties
mean, which may be sent before login, and how the ML labels are defined in terms of events. The
collector calls :meth:`TrackingPlan.validate` on every incoming event (tens of thousands per
second), so the per-event checks are compiled into closures once, when the plan is loaded, and
validation does no YAML, regex compilation or dictionary building on the hot path.

A broken plan must fail loudly and point at the fault: :func:`load_plan` raises :class:`PlanError`
with ``file:line`` taken from PyYAML's node marks (``yaml.compose``), never a guessed line.

Validation rules worth knowing (they are deliberate):

* Properties not in the plan are allowed: apps add props before the plan catches up.
* ``None`` (JSON null) counts as absent: a null required property is ``missing_property``, a null
  optional property is fine. SDKs commonly serialise unset optionals as null.
* ``bool`` is neither an ``integer`` nor a ``number`` (in Python ``True`` is an ``int``).
* ``integer`` accepts Python ``int`` only, never a float, not even ``3.0``: downstream SQL casts
  ``(properties->>'x')::int`` and Postgres rejects the text ``3.0`` for an integer.
* ``number`` accepts ints and finite floats (NaN / Infinity cannot be stored in ``jsonb``).
* ``format: uuid`` is the canonical 8-4-4-4-12 hex form (either case); ``format: date-time`` is
  ISO 8601 / RFC 3339 with a date, a time and an explicit offset (``Z`` or ``+hh:mm``): a naive
  timestamp is ambiguous.
* Violation details never echo string values: they may carry PII, and details are stored and
  logged with quarantined events.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import msgspec
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "DEFAULT_PLAN_PATH",
    "PLAN_ENV_VAR",
    "VIOLATION_CODES",
    "DurationLabel",
    "EventSpec",
    "LabelSpec",
    "NetCountLabel",
    "PlanError",
    "PropertySpec",
    "RatioLabel",
    "RatioTerm",
    "TrackingPlan",
    "Violation",
    "load_plan",
]

DEFAULT_PLAN_PATH = Path(__file__).resolve().parents[2] / "analytics" / "events.yml"
PLAN_ENV_VAR = "EVERREACH_TRACKING_PLAN"

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

_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
).fullmatch


# --------------------------------------------------------------------------------------------------
# Public types


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


@dataclass(frozen=True, slots=True)
class RatioTerm:
    """One side of a ratio label: count distinct ``distinct`` values among ``event`` rows.

    ``distinct`` is ``"user"`` (the person: user_id, else anonymous_id) or a property name.
    ``within == "denominator"`` (numerator only) counts only values that also appear in the
    denominator's set, so the ratio is a true conversion rate between 0 and 1.
    """

    event: str
    distinct: str
    within: str | None = None

    @property
    def by_user(self) -> bool:
        """True when the term counts people rather than property values."""
        return self.distinct == USER


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

    When ``by`` is set, numerator rows are joined to denominator rows on the shared distinct key
    (the loader enforces that both terms use the same ``distinct``) and grouped by the
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


_Check = Callable[[Any], Violation | None]


@dataclass(frozen=True)
class TrackingPlan:
    """The loaded plan. Build it with :func:`load_plan`; validation checks are compiled here."""

    version: int
    events: Mapping[str, EventSpec]
    labels: Mapping[str, LabelSpec]
    categories: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    _compiled: dict[str, tuple[tuple[str, bool, _Check], ...]] = field(
        init=False, repr=False, compare=False
    )
    _pre_auth: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = {
            name: tuple((p.name, p.required, _compile(p)) for p in spec.properties.values())
            for name, spec in self.events.items()
        }
        object.__setattr__(self, "_compiled", compiled)
        pre_auth = frozenset(n for n, e in self.events.items() if e.pre_auth)
        object.__setattr__(self, "_pre_auth", pre_auth)

    def event(self, name: str) -> EventSpec | None:
        """The spec of event ``name``, or None when it is not planned."""
        return self.events.get(name)

    def is_pre_auth(self, name: str) -> bool:
        """True when ``name`` is a planned event that may be sent without a login."""
        return name in self._pre_auth

    def validate(self, name: str, props: Mapping[str, Any] | None) -> list[Violation]:
        """Check one event against the plan; an empty list means it is valid.

        At most one violation is reported per property (the first rule it breaks), in plan
        order; unplanned properties are ignored.
        """
        checks = self._compiled.get(name)
        if checks is None:
            return [Violation("unknown_event", None, f"event {name!r} is not in the tracking plan")]
        if props is None:
            props = {}
        elif not isinstance(props, Mapping):
            return [Violation("wrong_type", None, f"props must be an object, got {_jtype(props)}")]
        out: list[Violation] = []
        get = props.get
        for pname, required, check in checks:
            value = get(pname)
            if value is None:
                if required:
                    out.append(Violation("missing_property", pname, f"required property {pname!r}"))
                continue
            violation = check(value)
            if violation is not None:
                out.append(violation)
        return out


# --------------------------------------------------------------------------------------------------
# Compiled checks


def _jtype(value: object) -> str:
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


_FORMAT_CHECKS: dict[str, Callable[[str], object]] = {"uuid": _UUID, "date-time": _is_datetime}

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: (type(v) is int) or (type(v) is float and math.isfinite(v)),
    "boolean": lambda v: type(v) is bool,
    "array": lambda v: isinstance(v, list | tuple),
    "object": lambda v: isinstance(v, dict),
}


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _compile(p: PropertySpec) -> _Check:
    """Turn a property spec into one closure ``value -> Violation | None`` (value is not None)."""
    name = p.name
    enum = frozenset(p.enum) if p.enum is not None else None
    enum_text = ", ".join(str(v) for v in p.enum) if p.enum is not None else ""
    lo, hi = p.minimum, p.maximum
    range_text = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"

    def wrong(value: Any) -> Violation:
        return Violation("wrong_type", name, f"expected {p.type}, got {_jtype(value)}")

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
                        "wrong_type", name, f"element {i}: expected {item_type}, got {_jtype(item)}"
                    )
            return None

        return check_array

    type_ok = _TYPE_TESTS[p.type]

    def check_plain(value: Any) -> Violation | None:
        return None if type_ok(value) else wrong(value)

    return check_plain


# --------------------------------------------------------------------------------------------------
# Loading


def load_plan(path: Path | str | None = None) -> TrackingPlan:
    """Load and check the tracking plan.

    ``path`` defaults to ``$EVERREACH_TRACKING_PLAN`` when set, else the repository's
    ``analytics/events.yml``. Raises :class:`PlanError` naming the file and line of the first
    fault found.
    """
    if path is None:
        env = os.environ.get(PLAN_ENV_VAR)
        path = Path(env) if env else DEFAULT_PLAN_PATH
    path = Path(path)
    display = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(display, None, f"cannot read tracking plan: {exc}") from exc
    return _PlanReader(display).read(text)


def _display(path: Path) -> str:
    """The path as shown in errors: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


_Entries = dict[str, tuple[ScalarNode, Node]]

_TOP_KEYS = ("version", "categories", "events", "labels")
_EVENT_KEYS = ("category", "description", "pre_auth", "properties")
_PROPERTY_KEYS = (
    "type",
    "required",
    "description",
    "enum",
    "minimum",
    "maximum",
    "max_length",
    "format",
    "items",
)
_LABEL_KEYS: dict[str, tuple[str, ...]] = {
    "net_count": ("kind", "description", "entity", "key", "plus", "minus"),
    "ratio": ("kind", "description", "numerator", "denominator", "by"),
    "duration": ("kind", "description", "entity", "key", "start", "end", "aggregate"),
}


class _PlanReader:
    """Walks the composed YAML node tree so every fault can be reported with its line."""

    def __init__(self, display: str) -> None:
        self.display = display
        self._constructor = yaml.SafeLoader("")

    # -- node helpers ------------------------------------------------------------------------------

    def fail(self, node: Node | None, reason: str) -> NoReturn:
        line = node.start_mark.line + 1 if node is not None else None
        raise PlanError(self.display, line, reason)

    def mapping(self, node: Node, what: str, allowed: Iterable[str] | None = None) -> _Entries:
        """Keys -> (key node, value node); rejects non-mappings, duplicate and unknown keys."""
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping")
        allowed_keys = tuple(allowed) if allowed is not None else None
        entries: _Entries = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.value == "<<":
                self.fail(key_node, f"{what}: keys must be plain strings")
            key = key_node.value
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                self.fail(
                    key_node, f"duplicate key {key!r} in {what} (first defined on line {first})"
                )
            if allowed_keys is not None and key not in allowed_keys:
                self.fail(
                    key_node,
                    f"unknown key {key!r} in {what}; expected one of: {', '.join(allowed_keys)}",
                )
            entries[key] = (key_node, value_node)
        return entries

    def require(self, entries: _Entries, key: str, anchor: Node, what: str) -> Node:
        if key not in entries:
            self.fail(anchor, f"{what} is missing required key {key!r}")
        return entries[key][1]

    def value(self, node: Node, what: str) -> Any:
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a single value")
        return self._constructor.construct_object(node)

    def choice(
        self, node: Node, what: str, key: str, options: Collection[str], noun: str = ""
    ) -> Any:
        """The value of `key`, which must be one of `options`; the error lists them."""
        value = self.value(node, f"{key} of {what}")
        if value not in options:
            self.fail(
                node,
                f"{what} has unknown {noun or key} {value!r}; "
                f"expected one of: {', '.join(options)}",
            )
        return value

    def string(self, node: Node, what: str) -> str:
        value = self.value(node, what)
        if not isinstance(value, str) or not value.strip():
            self.fail(node, f"{what} must be a non-empty string")
        return value

    def boolean(self, node: Node, what: str) -> bool:
        value = self.value(node, what)
        if not isinstance(value, bool):
            self.fail(node, f"{what} must be true or false")
        return value

    def number(self, node: Node, what: str) -> int | float:
        value = self.value(node, what)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.fail(node, f"{what} must be a number")
        return value

    def strings(self, node: Node, what: str) -> list[tuple[str, Node]]:
        """A string or a non-empty list of strings, each with its node."""
        if isinstance(node, SequenceNode):
            if not node.value:
                self.fail(node, f"{what} must not be empty")
            return [(self.string(item, what), item) for item in node.value]
        return [(self.string(node, what), node)]

    # -- the plan ----------------------------------------------------------------------------------

    def read(self, text: str) -> TrackingPlan:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            root = yaml.compose(text, Loader=loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            raise PlanError(self.display, line, f"YAML syntax error: {problem}") from exc
        except yaml.YAMLError as exc:
            raise PlanError(self.display, None, f"YAML error: {exc}") from exc
        if root is None:
            raise PlanError(self.display, 1, "the tracking plan is empty")

        top = self.mapping(root, "the tracking plan", _TOP_KEYS)
        version_node = self.require(top, "version", root, "the tracking plan")
        version = self.value(version_node, "version")
        if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
            supported = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
            self.fail(version_node, f"unsupported plan version {version!r}; supported: {supported}")

        categories: dict[str, str] = {}
        if "categories" in top:
            for slug, (key_node, value_node) in self.mapping(
                top["categories"][1], "categories"
            ).items():
                if not _EVENT_NAME.fullmatch(slug):
                    self.fail(key_node, f"category {slug!r} must be snake_case")
                categories[slug] = self.string(value_node, f"description of category {slug!r}")

        events_node = self.require(top, "events", root, "the tracking plan")
        events: dict[str, EventSpec] = {}
        for name, (key_node, value_node) in self.mapping(events_node, "events").items():
            events[name] = self.event(name, key_node, value_node, categories)
        if not events:
            self.fail(events_node, "the tracking plan defines no events")

        labels: dict[str, LabelSpec] = {}
        if "labels" in top:
            for name, (key_node, value_node) in self.mapping(top["labels"][1], "labels").items():
                labels[name] = self.label(name, key_node, value_node, events)

        return TrackingPlan(
            version=version,
            events=events,
            labels=labels,
            categories=categories,
            source=self.display,
        )

    def event(
        self, name: str, key_node: ScalarNode, node: Node, categories: Mapping[str, str]
    ) -> EventSpec:
        what = f"event {name!r}"
        if not _EVENT_NAME.fullmatch(name):
            self.fail(key_node, f"{what}: event names must be snake_case (a-z, 0-9, _)")
        entries = self.mapping(node, what, _EVENT_KEYS)
        category_node = self.require(entries, "category", key_node, what)
        category = self.string(category_node, f"category of {what}")
        if categories and category not in categories:
            self.fail(
                category_node,
                f"{what} has unknown category {category!r}; "
                f"expected one of: {', '.join(categories)}",
            )
        description = self.string(
            self.require(entries, "description", key_node, what), f"description of {what}"
        )
        pre_auth = (
            self.boolean(entries["pre_auth"][1], f"pre_auth of {what}")
            if "pre_auth" in entries
            else False
        )
        properties: dict[str, PropertySpec] = {}
        if "properties" in entries:
            props_node = entries["properties"][1]
            if not (isinstance(props_node, ScalarNode) and props_node.tag.endswith(":null")):
                for pname, (pkey, pnode) in self.mapping(
                    props_node, f"properties of {what}"
                ).items():
                    properties[pname] = self.property(name, pname, pkey, pnode)
        return EventSpec(name, category, description, pre_auth, properties)

    def property(self, event: str, name: str, key_node: ScalarNode, node: Node) -> PropertySpec:
        what = f"property {name!r} of event {event!r}"
        if not name.strip():
            self.fail(key_node, f"event {event!r} has a property with an empty name")
        entries = self.mapping(node, what, _PROPERTY_KEYS)
        type_node = self.require(entries, "type", key_node, what)
        ptype = self.choice(type_node, what, "type", PROPERTY_TYPES)

        def only_for(key: str, types: tuple[str, ...]) -> Node | None:
            if key not in entries:
                return None
            key_node_, value_node = entries[key]
            if ptype not in types:
                self.fail(key_node_, f"{what}: {key!r} is not allowed on type {ptype!r}")
            return value_node

        required = (
            self.boolean(entries["required"][1], f"required of {what}")
            if "required" in entries
            else False
        )
        description = (
            self.string(entries["description"][1], f"description of {what}")
            if "description" in entries
            else ""
        )

        enum: tuple[str | int, ...] | None = None
        if (enum_node := only_for("enum", ("string", "integer"))) is not None:
            if not isinstance(enum_node, SequenceNode) or not enum_node.value:
                self.fail(enum_node, f"enum of {what} must be a non-empty list")
            values: list[str | int] = []
            for item in enum_node.value:
                v = self.value(item, f"enum value of {what}")
                ok = type(v) is str if ptype == "string" else type(v) is int
                if not ok:
                    self.fail(item, f"enum value {v!r} of {what} is not of type {ptype!r}")
                if v in values:
                    self.fail(item, f"enum value {v!r} of {what} is repeated")
                values.append(v)
            enum = tuple(values)

        bounds: dict[str, int | float | None] = {"minimum": None, "maximum": None}
        for key in bounds:
            if (bound_node := only_for(key, ("integer", "number"))) is not None:
                bounds[key] = self.number(bound_node, f"{key} of {what}")
        lo, hi = bounds["minimum"], bounds["maximum"]
        if lo is not None and hi is not None and lo > hi:
            self.fail(entries["maximum"][1], f"{what}: maximum {hi} is below minimum {lo}")

        max_length: int | None = None
        if (len_node := only_for("max_length", ("string",))) is not None:
            length = self.value(len_node, f"max_length of {what}")
            if type(length) is not int or length < 1:
                self.fail(len_node, f"max_length of {what} must be a positive integer")
            max_length = length

        fmt: str | None = None
        if (fmt_node := only_for("format", ("string",))) is not None:
            fmt = self.choice(fmt_node, what, "format", FORMATS)

        items: str | None = None
        if (items_node := only_for("items", ("array",))) is not None:
            items = self.choice(items_node, what, "items", SCALAR_TYPES, noun="item type")

        return PropertySpec(
            name=name,
            type=ptype,
            required=required,
            description=description,
            enum=enum,
            minimum=lo,
            maximum=hi,
            max_length=max_length,
            format=fmt,
            items=items,
        )

    # -- labels ------------------------------------------------------------------------------------

    def label(
        self, name: str, key_node: ScalarNode, node: Node, events: Mapping[str, EventSpec]
    ) -> LabelSpec:
        what = f"label {name!r}"
        raw = self.mapping(node, what)
        kind_node = self.require(raw, "kind", key_node, what)
        kind = self.choice(kind_node, what, "kind", LABEL_KINDS)
        entries = self.mapping(node, what, _LABEL_KEYS[kind])
        description = self.string(
            self.require(entries, "description", key_node, what), f"description of {what}"
        )

        def event_ref(ref_node: Node, field_name: str) -> str:
            ref = self.string(ref_node, f"{field_name} of {what}")
            if ref not in events:
                self.fail(ref_node, f"{what} refers to unknown event {ref!r} in {field_name!r}")
            return ref

        def event_refs(field_name: str) -> tuple[str, ...]:
            ref_node = self.require(entries, field_name, key_node, what)
            items = self.strings(ref_node, f"{field_name} of {what}")
            return tuple(event_ref(item_node, field_name) for _, item_node in items)

        def keyed(names: Iterable[str]) -> tuple[str, str]:
            entity = self.string(
                self.require(entries, "entity", key_node, what), f"entity of {what}"
            )
            key_value_node = entries["key"][1] if "key" in entries else None
            key = (
                self.string(key_value_node, f"key of {what}")
                if key_value_node is not None
                else f"{entity}_id"
            )
            for ev in names:
                if key not in events[ev].properties:
                    self.fail(
                        key_value_node or entries["entity"][1],
                        f"{what}: key property {key!r} is not declared on event {ev!r}",
                    )
            return entity, key

        if kind == "net_count":
            plus, minus = event_refs("plus"), event_refs("minus")
            entity, key = keyed((*plus, *minus))
            return NetCountLabel(name, description, entity, key, plus, minus)

        if kind == "duration":
            start_node = self.require(entries, "start", key_node, what)
            start = event_ref(start_node, "start")
            end = event_refs("end")
            entity, key = keyed((start, *end))
            agg_node = self.require(entries, "aggregate", key_node, what)
            aggregate = self.choice(agg_node, what, "aggregate", AGGREGATES)
            return DurationLabel(name, description, entity, key, start, end, aggregate)

        # ratio
        def term(side: str) -> RatioTerm:
            term_node = self.require(entries, side, key_node, what)
            allowed = (
                ("event", "distinct", "within") if side == "numerator" else ("event", "distinct")
            )
            t = self.mapping(term_node, f"{side} of {what}", allowed)
            ev = event_ref(self.require(t, "event", term_node, f"{side} of {what}"), side)
            distinct_node = self.require(t, "distinct", term_node, f"{side} of {what}")
            distinct = self.string(distinct_node, f"distinct of the {side} of {what}")
            if distinct != USER and distinct not in events[ev].properties:
                self.fail(
                    distinct_node,
                    f"{what}: distinct {distinct!r} is neither 'user' nor a property of event "
                    f"{ev!r}",
                )
            within: str | None = None
            if "within" in t:
                within = self.value(t["within"][1], f"within of {what}")
                if within != "denominator":
                    self.fail(t["within"][1], f"{what}: within must be 'denominator'")
            return RatioTerm(ev, distinct, within)

        numerator, denominator = term("numerator"), term("denominator")
        by: tuple[str, ...] = ()
        if "by" in entries:
            by_items = self.strings(entries["by"][1], f"by of {what}")
            for prop, prop_node in by_items:
                if prop not in events[denominator.event].properties:
                    self.fail(
                        prop_node,
                        f"{what}: 'by' property {prop!r} is not declared on the denominator "
                        f"event {denominator.event!r}",
                    )
            by = tuple(p for p, _ in by_items)
        if (numerator.within or by) and numerator.distinct != denominator.distinct:
            self.fail(
                self.require(entries, "numerator", key_node, what),
                f"{what}: numerator and denominator must count the same distinct key when "
                "'within' or 'by' is used",
            )
        return RatioLabel(name, description, numerator, denominator, by)

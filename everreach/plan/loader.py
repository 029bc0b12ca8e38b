"""Loading ``analytics/events.yml``: every fault is a :class:`PlanError` with its ``file:line``.

The line numbers come from PyYAML's node marks (``yaml.compose``), never a guess.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from everreach.plan.model import (
    AGGREGATES,
    EVENT_NAME,
    FORMATS,
    LABEL_KINDS,
    PROPERTY_TYPES,
    SCALAR_TYPES,
    SUPPORTED_VERSIONS,
    USER,
    WITHIN_ANY_TIME,
    WITHIN_SAME_DAY,
    WITHIN_SPAN,
    DurationLabel,
    EventSpec,
    LabelSpec,
    NetCountLabel,
    PlanError,
    PropertySpec,
    RatioLabel,
    RatioTerm,
)
from everreach.plan.tracking_plan import TrackingPlan

DEFAULT_PLAN_PATH = Path(__file__).resolve().parents[2] / "analytics" / "events.yml"
PLAN_ENV_VAR = "EVERREACH_TRACKING_PLAN"


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
                if not EVENT_NAME.fullmatch(slug):
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
        if not EVENT_NAME.fullmatch(name):
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
                within = str(self.value(t["within"][1], f"within of {what}"))
                if within not in (WITHIN_ANY_TIME, WITHIN_SAME_DAY) and not WITHIN_SPAN.fullmatch(
                    within
                ):
                    self.fail(
                        t["within"][1],
                        f"{what}: within must be 'day', 'denominator' or a span such as '24h' "
                        "or '7d'",
                    )
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
        if numerator.distinct != denominator.distinct:
            self.fail(
                self.require(entries, "numerator", key_node, what),
                f"{what}: numerator and denominator must count the same distinct key (the "
                "numerator counts only the denominator's keys)",
            )
        return RatioLabel(name, description, numerator, denominator, by)

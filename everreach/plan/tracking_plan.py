"""The loaded tracking plan: its events and labels, and the validation of one event against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from everreach.plan.checks import PropertyCheck, compile_check, json_type
from everreach.plan.model import EventSpec, LabelSpec, Violation


@dataclass(frozen=True)
class TrackingPlan:
    """The loaded plan. Build it with :func:`load_plan`; validation checks are compiled here."""

    version: int
    events: Mapping[str, EventSpec]
    labels: Mapping[str, LabelSpec]
    categories: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    _compiled: dict[str, tuple[tuple[str, bool, PropertyCheck], ...]] = field(
        init=False, repr=False, compare=False
    )
    _pre_auth: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = {
            name: tuple((p.name, p.required, compile_check(p)) for p in spec.properties.values())
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
        elif type(props) is not dict and not isinstance(props, Mapping):  # the ABC test is slow
            return [
                Violation("wrong_type", None, f"props must be an object, got {json_type(props)}")
            ]
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

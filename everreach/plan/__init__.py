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

from everreach.plan.loader import DEFAULT_PLAN_PATH, PLAN_ENV_VAR, load_plan
from everreach.plan.model import (
    VIOLATION_CODES,
    WITHIN_ANY_TIME,
    DurationLabel,
    EventSpec,
    LabelSpec,
    NetCountLabel,
    PlanError,
    PropertySpec,
    RatioLabel,
    RatioTerm,
    Violation,
)
from everreach.plan.tracking_plan import TrackingPlan

__all__ = [
    "DEFAULT_PLAN_PATH",
    "PLAN_ENV_VAR",
    "VIOLATION_CODES",
    "WITHIN_ANY_TIME",
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

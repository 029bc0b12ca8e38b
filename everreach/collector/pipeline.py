"""The collector pipeline, independent of HTTP: decide what each event becomes.

For every event of a request: give it an id, correct its time for clock skew, check it against
the tracking plan and the authentication rule, scrub PII from its name, properties and context,
replace user and device ids that are PII with keyed pseudonyms, and say where it goes (the event
log or the quarantine). Nothing is dropped: an event that fails a rule is kept in
quarantine with its reasons, and the client is told per event what happened.

Storage is `event_store`'s job; rate limiting is the edge's (it needs the events per rate key,
which `rate_costs` gives).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

import msgspec

from everreach.collector.client_time import ClientTimeOutOfRange, as_utc, corrected_occurred_at
from everreach.collector.wire import WireEvent
from everreach.plan import TrackingPlan, Violation
from everreach.platform.problems import ClientFault
from everreach.privacy import Pseudonymizer, pii

AUTH_REQUIRED = "auth_required"


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    SUPPRESSED = "suppressed"  # the person was erased on request: refused, not stored


@dataclass(frozen=True)
class RequestContext:
    """Where the request came from and when it arrived."""

    client_ip: str
    received_at: datetime


class AttributedEvent(msgspec.Struct, frozen=True, gc=False):
    """A wire event and the user the edge vouches it came from.

    For /v1/ingest that is the bearer token's subject; for the SDK endpoints it is the identified
    distinct_id / userId of the event itself (the project key authorises the sender, not a user).

    This and the other per-event types below are msgspec Structs, not dataclasses: one of each
    is made for every event, and a Struct is made in a fraction of a dataclass's time (frozen
    dataclasses set each field through object.__setattr__). gc=False: they hold decoded JSON
    values and ids, which can never refer back to them, so the garbage collector need not track
    them.
    """

    event: WireEvent
    user_id: str | None


class PreparedEvent(msgspec.Struct, kw_only=True, gc=False):
    """One event ready for storage: scrubbed, timed, and either valid or with its violations."""

    event_id: uuid.UUID
    name: str
    user_id: str | None
    anonymous_id: str | None
    occurred_at: datetime
    sent_at: datetime | None
    received_at: datetime  # when its request arrived: stored with it, and the skew reference
    context: dict[str, Any]
    properties: dict[str, Any]
    client_ip: str = ""  # for the rate key only; never stored (an IP address is PII)
    violations: list[Violation] = msgspec.field(default_factory=list)
    duplicate_in_request: bool = False
    # user_id proven by the sender's own bearer token (not claimed through a public SDK key)
    verified: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.violations


class EventResult(msgspec.Struct, frozen=True, gc=False):
    """What happened to one event, as reported back to the client."""

    event_id: uuid.UUID
    status: Outcome
    reasons: list[Violation] = msgspec.field(default_factory=list)


def _context(event: WireEvent) -> dict[str, Any]:
    """The device fields, scrubbed like properties (they are free text the app fills in).

    Written out field by field rather than looped over names: this runs for every event.
    """
    context: dict[str, Any] = {}
    if event.platform is not None:
        context["platform"] = pii.scrub_repeated(event.platform)
    if event.app_build is not None:
        context["app_build"] = pii.scrub_repeated(event.app_build)
    if event.device_model is not None:
        context["device_model"] = pii.scrub_repeated(event.device_model)
    return context


def _scrubbed(violation: Violation) -> Violation:
    """The violation with PII removed from the names it quotes (the event's, a property's)."""
    prop = violation.property
    return Violation(
        code=violation.code,
        property=pii.scrub_text(prop) if prop is not None else None,
        detail=pii.scrub_text(violation.detail),
    )


def prepare_event(
    item: AttributedEvent,
    request: RequestContext,
    batch_sent_at: datetime | None,
    plan: TrackingPlan | None,
    *,
    skew_threshold_s: float,
    max_text_chars: int,
    pseudonyms: Pseudonymizer,
) -> PreparedEvent:
    """Apply the plan, the auth rule, skew correction and PII scrubbing to one event.

    `plan` None prepares an SDK system event (`$identify`, Segment `page`...): the tracking plan
    does not govern those, so they get timing and scrubbing but no violations. The plan checks
    the name as sent; what is stored (in the log or the quarantine) is the scrubbed name.
    """
    event = item.event
    violations: list[Violation] = []
    if plan is not None:
        violations = plan.validate(event.name, event.props)
        if item.user_id is None and not event.anonymous_id and not plan.is_pre_auth(event.name):
            violations.append(
                Violation(
                    code=AUTH_REQUIRED,
                    property=None,
                    detail=f"{event.name!r} needs a logged-in user or an anonymous_id",
                )
            )
    sent_at = event.sent_at or batch_sent_at
    occurred_at = corrected_occurred_at(
        event.timestamp, sent_at, request.received_at, skew_threshold_s
    )
    properties = pii.scrub(event.props, max_text=max_text_chars)
    return PreparedEvent(
        event_id=event.event_id or uuid.uuid4(),
        name=pii.scrub_repeated(event.name),
        user_id=pseudonyms.identifier(item.user_id),
        anonymous_id=pseudonyms.identifier(event.anonymous_id) or None,
        occurred_at=occurred_at,
        sent_at=as_utc(sent_at, "sent_at") if sent_at else None,
        received_at=request.received_at,
        context=_context(event),
        client_ip=request.client_ip,
        properties=properties,  # type: ignore[arg-type]
        # Most events have none: `[]` is built in a fraction of list(map(...))'s two type calls.
        violations=list(map(_scrubbed, violations)) if violations else [],
    )


def prepare_events(
    items: list[AttributedEvent],
    request: RequestContext,
    batch_sent_at: datetime | None,
    plan: TrackingPlan | None,
    *,
    skew_threshold_s: float,
    max_text_chars: int,
    pseudonyms: Pseudonymizer,
) -> list[PreparedEvent]:
    """Prepare every event of a request, marking repeated event_ids within it.

    A client time out of range refuses the whole request (422 naming the field and the event),
    as any other malformed field does: a request is stored whole or not at all.
    """
    prepared: list[PreparedEvent] = []
    # The ids as integers (UUID.int): equal exactly when the UUIDs are, and hashed in C, where a
    # UUID is hashed by a Python method (UUID.__hash__), twice per event here.
    seen: set[int] = set()
    for index, item in enumerate(items):
        try:
            event = prepare_event(
                item,
                request,
                batch_sent_at,
                plan,
                skew_threshold_s=skew_threshold_s,
                max_text_chars=max_text_chars,
                pseudonyms=pseudonyms,
            )
        except ClientTimeOutOfRange as exc:
            raise ClientFault(
                422,
                "timestamp_out_of_range",
                f"event {index}: {exc}; nothing was stored",
                extra={"field": exc.field, "event_index": index},
            ) from exc
        key = event.event_id.int
        event.duplicate_in_request = key in seen
        seen.add(key)
        prepared.append(event)
    return prepared


def _rate_key(user_id: str | None, anonymous_id: str | None, client_ip: str) -> str:
    """Whose quota an event counts against: the user, else the device, else the IP."""
    if user_id:
        return f"user:{user_id}"
    if anonymous_id:
        return f"anon:{anonymous_id}"
    return f"ip:{client_ip}"


_RATE_FIELDS = attrgetter("user_id", "anonymous_id", "client_ip")


def rate_costs(events: list[PreparedEvent]) -> dict[str, int]:
    """Events per rate key (in the order the keys first appear): the limiter charges events,
    not requests.

    A request's events share a few (user, device, IP) triples: they are counted in C (a Counter
    over an attrgetter), and the key of each distinct triple is made once, not once per event.
    """
    costs: dict[str, int] = {}
    for fields, count in Counter(map(_RATE_FIELDS, events)).items():
        key = _rate_key(*fields)
        costs[key] = costs.get(key, 0) + count
    return costs


def quarantine_record(event: PreparedEvent) -> dict[str, Any]:
    """The event as received (scrubbed) for the quarantine's `raw` column."""
    return {
        "name": event.name,
        "event_id": str(event.event_id),
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "occurred_at": event.occurred_at.isoformat(),
        "sent_at": event.sent_at.isoformat() if event.sent_at else None,
        "context": event.context,
        "props": event.properties,
    }

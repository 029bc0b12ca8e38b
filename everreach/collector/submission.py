"""What one collector request asks us to store, whatever wire format it arrived in.

Every collector endpoint (/v1/ingest, the PostHog capture endpoints, the Segment HTTP API) turns
its body into a `Submission`: plan events (checked against the tracking plan), SDK system events
(`$pageview`, `$identify`, Segment `identify`/`page`...: stored apart, in `sdk_system_events`,
never against the plan, so they neither land in quarantine nor in the plan-based datasets), and
identity claims (anonymous_id -> user_id links that `$identify`, `$create_alias` and Segment
`identify`/`alias` make). `prepare_submission` runs the shared pipeline steps on all of it.

Who vouches for the user: on /v1/ingest (`COLLECTOR_SOURCE`) the user id can only come from the
caller's own bearer token, so those events are `verified`. The SDK endpoints take the user id
from the body of a request signed with a project key that ships inside every app (public by
design), so anyone holding it can name any user: their events are stored, for compatibility,
but marked unverified, and `/v1/me/events` says so on each event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from everreach.collector.pipeline import (
    AttributedEvent,
    PreparedEvent,
    RequestContext,
    prepare_events,
)
from everreach.plan import TrackingPlan
from everreach.privacy import Pseudonymizer

COLLECTOR_SOURCE = "collector"


@dataclass(frozen=True)
class IdentityClaim:
    """An SDK call saying `anonymous_id` is (or became) `user_id`; `event_id` dates it."""

    anonymous_id: str
    user_id: str
    source: str  # how we learnt it: posthog_identify, posthog_alias, segment_identify, ...
    event_id: uuid.UUID


@dataclass
class Submission:
    """A decoded request: who sent it (`source`) and the events and claims it carries."""

    source: str
    events: list[AttributedEvent]
    sent_at: datetime | None = None
    system_events: list[AttributedEvent] = field(default_factory=list)
    identity_claims: list[IdentityClaim] = field(default_factory=list)


IdentityLinks = dict[tuple[str, str], tuple[str, datetime]]


@dataclass
class PreparedSubmission:
    """A submission after validation, skew correction and scrubbing, ready to store."""

    source: str
    events: list[PreparedEvent]
    system_events: list[PreparedEvent]
    identity_links: IdentityLinks

    @property
    def all_events(self) -> list[PreparedEvent]:
        return self.events + self.system_events


def _links(
    claims: list[IdentityClaim],
    prepared: list[PreparedEvent],
    received_at: datetime,
    pseudonyms: Pseudonymizer,
) -> IdentityLinks:
    """Claims as identity_links rows, dated by their event's corrected time.

    Both ids go through the pseudonyms exactly as the events' own ids do, so a link joins the
    stored events it is about.
    """
    if not claims:  # /v1/ingest: no claims, and no need to index every event by its id
        return {}
    occurred = {event.event_id: event.occurred_at for event in prepared}
    links: IdentityLinks = {}
    for claim in claims:
        anonymous_id = pseudonyms.identifier(claim.anonymous_id)
        user_id = pseudonyms.identifier(claim.user_id)
        if anonymous_id and user_id and anonymous_id != user_id:
            seen_at = occurred.get(claim.event_id, received_at)
            links.setdefault((anonymous_id, user_id), (claim.source, seen_at))
    return links


def prepare_submission(
    submission: Submission,
    request: RequestContext,
    plan: TrackingPlan,
    *,
    skew_threshold_s: float,
    max_text_chars: int,
    pseudonyms: Pseudonymizer,
) -> PreparedSubmission:
    """Run plan validation, the auth rule, skew correction, scrubbing and pseudonyms on a
    submission.

    The ids of one request repeat from event to event, so the pseudonyms remember their answers
    for this request (see `Pseudonymizer.for_request`).
    """
    pseudonyms = pseudonyms.for_request()
    steps = {
        "skew_threshold_s": skew_threshold_s,
        "max_text_chars": max_text_chars,
        "pseudonyms": pseudonyms,
    }
    events = prepare_events(submission.events, request, submission.sent_at, plan, **steps)
    if submission.source == COLLECTOR_SOURCE:
        for event in events:
            event.verified = event.user_id is not None
    system = prepare_events(submission.system_events, request, submission.sent_at, None, **steps)
    links = _links(submission.identity_claims, events + system, request.received_at, pseudonyms)
    return PreparedSubmission(
        source=submission.source, events=events, system_events=system, identity_links=links
    )

"""Deterministic synthetic EverReach traffic, for the demo, benchmarks and tests.

Why synthetic traffic has to be realistic: the demo shows label metrics (copy rate, dwell time,
trial conversion, ...) and the ingest path's edge cases (duplicates, quarantine, PII scrubbing).
So people here behave like app users: they sign up anonymously, some finish onboarding, they
prompt the assistant and react to its answers a few seconds later, hit paywalls, start trials and
some convert. The rates are set so the labels come out near the seed report's figures.

Determinism: every person draws from their own ``random.Random`` seeded by ``(seed, index)``, so
the same ``seed`` and ``end`` give the same requests, byte for byte, and adding users does not
change the existing ones. Faults are drawn from a separate stream after the clean traffic is
built, so ``faults=False`` gives exactly the clean traffic of ``faults=True`` minus the faults.

Identity: a person first sends pre-auth events with only an ``anonymous_id`` (requests with
``user_id=None``); after ``signup_completed`` (whose ``user_id`` prop names the new account) the
requests are authenticated. Every event of the person, before and after login, carries the same
``anonymous_id``, so downstream code can stitch the anonymous trail to the user.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FAULT_MISSING_PROPERTY",
    "FAULT_RETRY",
    "FAULT_UNKNOWN_EVENT",
    "SyntheticRequest",
    "expected_counts",
    "generate_traffic",
]

FAULT_RETRY = "retry"
"""The request is a client retry of an earlier one: same body, same event ids (all duplicates)."""
FAULT_UNKNOWN_EVENT = "unknown_event"
"""One event in the request has a name that is not in the tracking plan."""
FAULT_MISSING_PROPERTY = "missing_property"
"""One event in the request lacks a property the plan requires."""

MAX_BATCH = 20
FLUSH_INTERVAL = 60.0
"""Seconds of quiet after which the SDK sends what it has queued."""
DAY = 86_400.0


@dataclass(slots=True)
class SyntheticRequest:
    """One POST /v1/ingest the app would send: a batch of one person's events.

    ``user_id`` is set when the request is authenticated (the caller mints a JWT for it).
    ``events`` are dicts in the collector's wire format. ``fault`` names the deliberate fault, if
    any; ``faulty_events`` are the indices of the events that should not be accepted (for a retry:
    all of them, they are duplicates).
    """

    user_id: str | None
    sent_at: datetime
    events: list[dict[str, Any]]
    fault: str | None = None
    faulty_events: tuple[int, ...] = field(default=())


def generate_traffic(
    users: int,
    days: int,
    seed: int,
    end: datetime | None = None,
    faults: bool = True,
) -> list[SyntheticRequest]:
    """Traffic of ``users`` people who sign up during the ``days`` days ending at ``end``.

    ``end`` defaults to now (UTC); a naive ``end`` is taken as UTC. Pass ``end`` for reproducible
    output. Requests are sorted by ``sent_at`` and no timestamp is later than ``end``. With
    ``faults``, about 2 % of requests are retries and about 1 % each carry an unknown event or an
    event missing a required property.
    """
    if users < 0 or days < 1:
        raise ValueError("users must be >= 0 and days >= 1")
    if end is None:
        end = datetime.now(UTC)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    end_ts = end.timestamp()
    start_ts = end_ts - days * DAY

    keyed: list[tuple[float, int, int, SyntheticRequest]] = []
    for index in range(users):
        person = _Person(seed, index, start_ts, end_ts)
        for seq, (sent_ts, request) in enumerate(person.simulate()):
            keyed.append((sent_ts, index, seq, request))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    requests = [k[3] for k in keyed]
    if faults:
        requests = _inject_faults(requests, seed, end)
    return requests


def expected_counts(requests: Iterable[SyntheticRequest]) -> Counter[str]:
    """Event names among the events that should be accepted: retries and faulty events excluded."""
    counts: Counter[str] = Counter()
    for request in requests:
        if request.fault == FAULT_RETRY:
            continue
        bad = request.faulty_events
        for i, event in enumerate(request.events):
            if i not in bad:
                counts[event["name"]] += 1
    return counts


# --------------------------------------------------------------------------------------------------
# Vocabulary


_PLATFORMS = (("ios", 0.62), ("android", 0.38))
_DEVICES = {
    "ios": ("iPhone14,5", "iPhone15,2", "iPhone15,4", "iPhone16,1", "iPhone16,2", "iPhone17,3"),
    "android": ("Pixel 7", "Pixel 8", "SM-S911B", "SM-A546B", "moto g84 5G"),
}
_BUILDS = (("1.10.2 (388)", 0.15), ("1.11.0 (401)", 0.35), ("1.12.1 (417)", 0.5))
_SIGNUP_METHODS = (("email", 0.5), ("apple", 0.32), ("google", 0.18))
_QUESTIONS = (
    ("goal", ("grow_network", "stay_in_touch", "sales", "job_search")),
    ("role", ("founder", "sales", "recruiter", "student", "other")),
    ("network_size", ("under_50", "50_200", "200_1000", "over_1000")),
    ("channels", ("sms", "email", "whatsapp", "linkedin")),
    ("reminder_frequency", ("daily", "weekly", "monthly")),
)
# model -> (weight, price per 1k output tokens in USD, copy prob, like prob, dislike prob)
_MODELS = {
    "gpt-4o-mini": (0.5, 0.0006, 0.30, 0.20, 0.07),
    "claude-3-haiku": (0.35, 0.00125, 0.27, 0.18, 0.08),
    "gpt-4o": (0.15, 0.01, 0.38, 0.26, 0.05),
}
_FINISH = (("stop", 0.93), ("length", 0.05), ("content_filter", 0.01), ("error", 0.01))
_NAMES = ("Dana", "Marcus", "Priya", "Tom", "Aiko", "Lena", "Carlos", "Sam", "Noor", "Jules")
_SURNAMES = ("Kim", "Okafor", "Shah", "Berg", "Tanaka", "Novak", "Diaz", "Reed", "Haddad", "Roy")
_TOPICS = (
    "the Q3 proposal",
    "our coffee chat last week",
    "the intro to their CTO",
    "the conference in Austin",
    "their new role",
    "the partnership deck",
    "their birthday",
    "the podcast invite",
)
_PROMPTS = (
    "Write a warm follow-up to {name} about {topic}.",
    "Draft a short check-in message for {name}; we last talked about {topic}.",
    "Help me congratulate {name} on {topic} without sounding salesy.",
    "Suggest three conversation starters for {name} related to {topic}.",
    "Make this friendlier: 'Hi {name}, any update on {topic}?'",
)
_RESPONSES = (
    "Hi {name}, it was great catching up about {topic}. Would you have 20 minutes next week to "
    "pick it up again?",
    "Hey {name}! I've been thinking about {topic} and wanted to check in. How are things going "
    "on your side?",
    "Congratulations, {name}! Hearing about {topic} made my day. Let's celebrate over coffee soon.",
    "1. Ask {name} what surprised them most about {topic}. 2. Share a related article. 3. Offer "
    "an intro that could help.",
)
_TAGS = ("follow_up", "check_in", "congrats", "intro", "rewrite", "from_template")
_DISLIKE_REASONS = ("too_long", "too_formal", "wrong_tone", "inaccurate")
_CHANNELS = (("sms", 0.35), ("email", 0.25), ("whatsapp", 0.25), ("linkedin", 0.1), ("other", 0.05))
_INTERACTIONS = ("note", "call", "meeting", "message", "email")
_FILTERS = (
    ("warmth", ("cold", "cooling", "warm", "hot")),
    ("tag", ("investor", "friend", "client", "mentor")),
    ("last_contacted", ("7d", "30d", "90d")),
)
_FEATURES = ("ai_compose", "bulk_import", "warmth_alerts", "unlimited_contacts")
_PRODUCTS = (("everreach_pro_monthly", 9.99, 0.7), ("everreach_pro_annual", 79.99, 0.3))
_TRIAL_PLANS = {"everreach_pro_monthly": "pro_monthly", "everreach_pro_annual": "pro_annual"}
_PURCHASE_ERRORS = ("user_cancelled", "payment_pending", "store_problem", "network_error")
_TEMPLATES = ("tmpl_follow_up", "tmpl_birthday", "tmpl_intro", "tmpl_thank_you")

# Fault vocabulary: names the plan does not know, and which required prop to drop per event.
_UNKNOWN_NAMES = ("screen_viewed", "promt_submitted", "button_tapped", "ResponseCopied")
# prompt_submitted is never faulted: its response would be left without a prompt row.
_DROPPABLE = {
    "ai_response_generated": "text",
    "response_rendered": "response_id",
    "response_copied": "response_id",
    "response_liked": "response_id",
    "paywall_shown": "placement",
    "purchase_attempted": "product_id",
    "message_sent": "channel",
    "contact_warmth_changed": "to_warmth",
    "signup_started": "method",
    "onboarding_question_answered": "question_id",
    "interaction_created": "kind",
    "filter_applied": "filter",
}

# Relative chance of a session starting at each local hour (people use the app awake).
# fmt: off
_HOURLY = (
    0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 0.9,  # 00:00 - 11:00
    0.9, 0.9, 0.8, 0.8, 0.8, 0.9, 1.0, 1.0, 1.0, 0.9, 0.7, 0.4,  # 12:00 - 23:00
)
# fmt: on

# Funnel rates (the labels should come out near these).
P_SIGNUP_COMPLETE = 0.85
P_ONBOARDING_COMPLETE = 0.70  # onboarding_completion_rate
P_TRIAL = 0.6
P_TRIAL_CONVERT = 0.15  # trial_conversion_rate (plus a few feature-gate purchases later)
P_PII = 0.08


def _iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, the wire format of timestamps."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


_Event = tuple[float, str, dict[str, Any]]


class _Person:
    """One simulated person: their device, identity and the sessions they generate."""

    def __init__(self, seed: int, index: int, start_ts: float, end_ts: float) -> None:
        self.rng = random.Random(f"everreach-synthetic:{seed}:{index}")
        rng = self.rng
        self.start_ts = start_ts
        self.end_ts = end_ts
        self.user_id = self.uuid()
        self.anonymous_id = self.uuid()
        self.platform = self.weighted(_PLATFORMS)
        self.device_model = rng.choice(_DEVICES[self.platform])
        self.app_build = self.weighted(_BUILDS)
        self.tz_hours = rng.choice((-8, -7, -5, -5, -4, 0, 1, 1, 2, 5.5, 8, 9))
        self.engagement = rng.uniform(0.3, 1.3)
        self.contacts: dict[str, int] = {}
        self.has_aha = False
        self.subscribed: str | None = None
        self.trial: str | None = None  # product id while a trial runs
        self.had_trial = False
        self.last_sent = start_ts
        self.out: list[tuple[float, SyntheticRequest]] = []

    # -- randomness helpers ------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def weighted(self, pairs: tuple[tuple[str, float], ...]) -> str:
        r = self.rng.random() * sum(w for _, w in pairs)
        for value, weight in pairs:
            r -= weight
            if r < 0:
                return value
        return pairs[-1][0]

    def session_time(self, day_start: float) -> float:
        """A time in ``[day_start, day_start + 1 day)``, weighted by the person's local hour."""
        rng = self.rng
        while True:
            t = day_start + rng.random() * DAY
            hour = int((t / 3600 + self.tz_hours) % 24)
            if rng.random() < _HOURLY[hour]:
                return t

    def contact(self) -> str:
        if not self.contacts or (len(self.contacts) < 40 and self.rng.random() < 0.15):
            self.contacts[self.uuid()] = self.rng.randint(20, 90)
        return self.rng.choice(list(self.contacts))

    # -- the life of the person --------------------------------------------------------------------

    def simulate(self) -> list[tuple[float, SyntheticRequest]]:
        rng = self.rng
        span_days = max(1, int((self.end_ts - self.start_ts) // DAY))
        signup_day = rng.randrange(span_days)
        t = self.session_time(self.start_ts + signup_day * DAY)
        t_signup = t

        # Anonymous part: signup flow, onboarding questions, the onboarding paywall.
        pre: list[_Event] = []
        method = self.weighted(_SIGNUP_METHODS)
        pre.append((t, "signup_started", {"method": method}))
        questions = rng.randint(3, len(_QUESTIONS))
        for step, (qid, answers) in enumerate(_QUESTIONS[:questions], start=1):
            t += rng.uniform(4, 25)
            pre.append(
                (
                    t,
                    "onboarding_question_answered",
                    {"question_id": qid, "answer": rng.choice(answers), "step": step},
                )
            )
        if rng.random() < 0.6:
            t += rng.uniform(2, 8)
            variant = rng.choice(("A", "B"))
            props = {"placement": "onboarding", "variant": variant, "trigger": "onboarding_step"}
            pre.append((t, "paywall_shown", props))
        completed = rng.random() < P_SIGNUP_COMPLETE
        if completed:
            t += rng.uniform(5, 40)
            pre.append((t, "signup_completed", {"method": method, "user_id": self.user_id}))
        self.flush(pre, authenticated=False)
        if not completed or rng.random() >= P_ONBOARDING_COMPLETE:
            return self.out

        # Authenticated onboarding: the rest of the first session.
        first: list[_Event] = []
        t += rng.uniform(3, 30)
        first.append(
            (
                t,
                "onboarding_completed",
                {"questions_answered": questions, "duration_s": round(t - t_signup, 3)},
            )
        )
        if rng.random() < 0.85:
            t += rng.uniform(10, 90)
            source = rng.choice(("manual", "manual", "import", "share_sheet"))
            first.append(
                (t, "first_contact_created", {"contact_id": self.contact(), "source": source})
            )
        if rng.random() < 0.5:
            t += rng.uniform(5, 60)
            source = rng.choice(("device_contacts", "device_contacts", "csv", "google", "linkedin"))
            first.append((t, "contact_imported", {"count": rng.randint(5, 400), "source": source}))
        scheduled: list[tuple[float, str]] = []
        if rng.random() < P_TRIAL:
            t += rng.uniform(5, 30)
            product = self.weighted(tuple((p, w) for p, _, w in _PRODUCTS))
            trial_days = 7
            first.append(
                (t, "trial_started", {"plan": _TRIAL_PLANS[product], "trial_days": trial_days})
            )
            self.trial = product
            self.had_trial = True
            trial_end = t + trial_days * DAY
            if rng.random() < P_TRIAL_CONVERT:
                scheduled.append((t + rng.uniform(2, trial_days) * DAY, "trial_convert"))
            elif rng.random() < 0.08:
                scheduled.append((trial_end - rng.uniform(0.2, 1) * DAY, "trial_extend"))
                scheduled.append((trial_end + 7 * DAY + rng.uniform(0, 1) * DAY, "trial_expire"))
            else:
                scheduled.append((trial_end + rng.uniform(0, 1) * DAY, "trial_expire"))
        t = self.activity(first, t, session_id=self.uuid())
        self.flush(first, authenticated=True)

        # Later days: active with a probability that decays after signup.
        sessions: list[tuple[float, str]] = list(scheduled)
        for day in range(signup_day, span_days):
            since = day - signup_day
            p_active = min(0.95, self.engagement * (0.22 + 0.5 * math.exp(-since / 6)))
            if since == 0:
                p_active *= 0.4
            if rng.random() >= p_active:
                continue
            for _ in range(1 + (rng.random() < 0.35)):
                sessions.append((self.session_time(self.start_ts + day * DAY), "normal"))
        sessions.sort()

        busy_until = t
        for start, kind in sessions:
            start = max(start, busy_until + 60)
            if start >= self.end_ts:
                break
            events: list[_Event] = []
            if kind == "normal":
                busy_until = self.activity(events, start, session_id=self.uuid())
            else:
                busy_until = self.trial_moment(events, start, kind)
            self.flush(events, authenticated=True)
        return self.out

    def trial_moment(self, events: list[_Event], t: float, kind: str) -> float:
        """The scheduled end of a trial: a conversion, an extension or an expiry."""
        rng = self.rng
        product = self.trial
        if product is None:
            return t
        plan = _TRIAL_PLANS[product]
        price = next(p for name, p, _ in _PRODUCTS if name == product)
        if kind == "trial_convert":
            placement = "trial_ending"
            events.append((t, "paywall_shown", {"placement": placement, "trigger": "trial_ending"}))
            t += rng.uniform(3, 40)
            events.append(
                (
                    t,
                    "purchase_attempted",
                    {"product_id": product, "placement": placement, "price_usd": price},
                )
            )
            t += rng.uniform(4, 30)
            self.purchase_succeeded(events, t, product, placement, price, trial_conversion=True)
            return t + 2
        if kind == "trial_extend":
            props = {"plan": plan, "extra_days": 7, "reason": "win_back_offer"}
            events.append((t, "trial_extended", props))
            return t + 1
        events.append((t, "trial_expired", {"plan": plan, "trial_days": 7}))
        t += rng.uniform(0.5, 3)
        events.append(
            (
                t,
                "entitlement_refreshed",
                {"entitlement": "pro", "is_active": False, "source": "revenuecat"},
            )
        )
        self.trial = None
        return t

    def purchase_succeeded(
        self,
        events: list[_Event],
        t: float,
        product: str,
        placement: str,
        price: float,
        trial_conversion: bool,
    ) -> None:
        events.append(
            (
                t,
                "purchase_succeeded",
                {
                    "product_id": product,
                    "placement": placement,
                    "price_usd": price,
                    "transaction_id": f"GPA.{self.rng.getrandbits(48):012x}",
                    "is_trial_conversion": trial_conversion,
                },
            )
        )
        expires = t + (365 if "annual" in product else 30) * DAY
        events.append(
            (
                t + self.rng.uniform(0.3, 2),
                "entitlement_refreshed",
                {
                    "entitlement": "pro",
                    "is_active": True,
                    "product_id": product,
                    "expires_at": _iso(expires),
                    "source": "revenuecat",
                },
            )
        )
        self.subscribed = product
        self.trial = None

    def activity(self, events: list[_Event], t: float, session_id: str) -> float:
        """A normal app session from ``t``; returns when it ends."""
        rng = self.rng
        n_prompts = self.weighted((("0", 0.25), ("1", 0.4), ("2", 0.25), ("3", 0.1)))
        copied: str | None = None
        for _ in range(int(n_prompts)):
            t += rng.uniform(5, 60)
            t, response_id, was_copied = self.prompt_flow(events, t, session_id)
            if was_copied:
                copied = response_id
                if not self.has_aha:
                    self.has_aha = True
                    t += rng.uniform(0.5, 3)
                    events.append((t, "aha_reached", {"trigger": "first_copy"}))
        if rng.random() < 0.35 or copied is not None:
            contact_id = self.contact()
            template = None
            if rng.random() < 0.15:
                template = rng.choice(_TEMPLATES)
                t += rng.uniform(2, 20)
                props = {"template_id": template, "contact_id": contact_id}
                events.append((t, "message_template_used", props))
            t += rng.uniform(10, 120)
            message: dict[str, Any] = {
                "contact_id": contact_id,
                "channel": self.weighted(_CHANNELS),
                "length": rng.randint(40, 600),
            }
            if copied is not None:
                message["response_id"] = copied
            if template is not None:
                message["template_id"] = template
            events.append((t, "message_sent", message))
            if not self.has_aha:
                self.has_aha = True
                t += rng.uniform(0.5, 3)
                events.append((t, "aha_reached", {"trigger": "first_message"}))
            if rng.random() < 0.5:
                t += rng.uniform(1, 5)
                self.warmth(events, t, contact_id, up=True)
        if rng.random() < 0.3:
            t += rng.uniform(3, 60)
            props = {"query_length": rng.randint(1, 20), "results_count": rng.randint(0, 30)}
            events.append((t, "contact_searched", props))
        if rng.random() < 0.2:
            t += rng.uniform(3, 60)
            dimension, values = rng.choice(_FILTERS)
            events.append((t, "filter_applied", {"filter": dimension, "value": rng.choice(values)}))
        if rng.random() < 0.15:
            t += rng.uniform(5, 120)
            props = {"contact_id": self.contact(), "kind": rng.choice(_INTERACTIONS)}
            events.append((t, "interaction_created", props))
        if rng.random() < 0.12:
            t += rng.uniform(1, 30)
            self.warmth(events, t, self.contact(), up=False)
        if rng.random() < 0.02:
            t += rng.uniform(5, 60)
            props = {
                "format": rng.choice(("csv", "json", "vcard")),
                "scope": rng.choice(("contacts", "interactions", "all")),
                "rows": rng.randint(10, 2000),
            }
            events.append((t, "export_data", props))
        t = self.monetisation(events, t)
        return t

    def prompt_flow(
        self, events: list[_Event], t: float, session_id: str
    ) -> tuple[float, str, bool]:
        """prompt -> response -> render -> reactions a few seconds later."""
        rng = self.rng
        model = self.weighted(tuple((m, v[0]) for m, v in _MODELS.items()))
        _, price_1k, p_copy, p_like, p_dislike = _MODELS[model]
        name = rng.choice(_NAMES)
        topic = rng.choice(_TOPICS)
        text = rng.choice(_PROMPTS).format(name=name, topic=topic)
        if rng.random() < P_PII:
            if rng.random() < 0.5:
                surname = rng.choice(_SURNAMES).lower()
                text += f" Their email is {name.lower()}.{surname}@example.com."
            else:
                text += f" Mention they can call me on +1 415 555 01{rng.randint(0, 99):02d}."
        prompt_id = self.uuid()
        prompt: dict[str, Any] = {
            "prompt_id": prompt_id,
            "session_id": session_id,
            "text": text,
            "model": model,
            "temperature": rng.choice((0.2, 0.5, 0.7, 0.7, 1.0)),
        }
        if rng.random() < 0.7:
            prompt["contact_id"] = self.contact()
        if rng.random() < 0.6:
            prompt["tags"] = rng.sample(_TAGS, rng.randint(1, 2))
        events.append((t, "prompt_submitted", prompt))

        tokens = rng.randint(40, 380)
        latency_ms = int(250 + tokens * rng.uniform(6, 22))
        finish = self.weighted(_FINISH)
        if finish == "error":
            response_text = "Sorry, I couldn't write that one. Please try again."
        else:
            response_text = rng.choice(_RESPONSES).format(name=name, topic=topic)
        response_id = self.uuid()
        t += latency_ms / 1000
        events.append(
            (
                t,
                "ai_response_generated",
                {
                    "response_id": response_id,
                    "prompt_id": prompt_id,
                    "model": model,
                    "text": response_text,
                    "tokens_out": tokens,
                    "finish_reason": finish,
                    "cost_usd": round(tokens / 1000 * price_1k, 6),
                    "latency_ms": latency_ms,
                },
            )
        )
        t += rng.uniform(0.03, 0.3)
        events.append((t, "response_rendered", {"response_id": response_id}))

        # Reactions: dwell is log-normal (median ~8 s), each later reaction a little after.
        reaction_t = t + min(120.0, max(1.5, rng.lognormvariate(math.log(8), 0.7)))
        copied = rng.random() < p_copy
        if copied:
            events.append((reaction_t, "response_copied", {"response_id": response_id}))
            reaction_t += rng.uniform(1, 6)
        verdict = rng.random()
        if verdict < p_like:
            events.append((reaction_t, "response_liked", {"response_id": response_id}))
        elif verdict < p_like + p_dislike:
            props: dict[str, Any] = {"response_id": response_id}
            if rng.random() < 0.5:
                props["reason"] = rng.choice(_DISLIKE_REASONS)
            events.append((reaction_t, "response_disliked", props))
        else:
            return max(t, reaction_t - 1), response_id, copied
        return reaction_t, response_id, copied

    def warmth(self, events: list[_Event], t: float, contact_id: str, up: bool) -> None:
        before = self.contacts[contact_id]
        step = self.rng.randint(3, 15)
        after = min(100, before + step) if up else max(0, before - step)
        self.contacts[contact_id] = after
        props = {"contact_id": contact_id, "from_warmth": before, "to_warmth": after}
        events.append((t, "contact_warmth_changed", props))
        threshold = 30
        if before >= threshold > after:
            props = {"contact_id": contact_id, "warmth": after, "threshold": threshold}
            events.append((t + 0.05, "contact_warmth_below_threshold", props))

    def monetisation(self, events: list[_Event], t: float) -> float:
        """Feature gates and paywalls for people without a subscription; churn for the others."""
        rng = self.rng
        if self.subscribed is not None:
            if rng.random() < 0.01:
                t += rng.uniform(5, 60)
                props = {
                    "product_id": self.subscribed,
                    "reason": rng.choice(("too_expensive", "not_using", "other")),
                }
                events.append((t, "subscription_cancelled", props))
                self.subscribed = None
            elif rng.random() < 0.02:
                t += rng.uniform(1, 10)
                props = {"product_id": self.subscribed}
                events.append((t, "purchase_restored", props))
            return t
        if self.trial is not None or rng.random() >= 0.2:
            return t
        t += rng.uniform(5, 60)
        reason = (
            "trial_expired" if self.had_trial else rng.choice(("not_entitled", "limit_reached"))
        )
        events.append((t, "feature_blocked", {"feature": rng.choice(_FEATURES), "reason": reason}))
        placement = "feature_gate"
        t += rng.uniform(0.3, 1.5)
        variant = rng.choice(("A", "B"))
        props = {"placement": placement, "variant": variant, "trigger": "feature_blocked"}
        events.append((t, "paywall_shown", props))
        if rng.random() >= 0.3:
            return t
        product, price, _ = _PRODUCTS[0] if rng.random() < 0.7 else _PRODUCTS[1]
        t += rng.uniform(3, 40)
        props = {"product_id": product, "placement": placement, "price_usd": price}
        events.append((t, "purchase_attempted", props))
        t += rng.uniform(4, 30)
        outcome = rng.random()
        if outcome < 0.5:
            self.purchase_succeeded(events, t, product, placement, price, self.had_trial)
            t += 2
        elif outcome < 0.8:
            props = {
                "product_id": product,
                "placement": placement,
                "price_usd": price,
                "error_code": rng.choice(_PURCHASE_ERRORS),
            }
            events.append((t, "purchase_failed", props))
        return t

    # -- requests ----------------------------------------------------------------------------------

    def flush(self, events: list[_Event], authenticated: bool) -> None:
        """Cut a session's events into requests the way the SDK does: by size and by time gap."""
        events = sorted((e for e in events if e[0] <= self.end_ts), key=lambda e: e[0])
        batch: list[_Event] = []
        limit = self.batch_limit()
        for event in events:
            if batch and (len(batch) >= limit or event[0] - batch[-1][0] > FLUSH_INTERVAL):
                self.emit(batch, authenticated)
                batch = []
                limit = self.batch_limit()
            batch.append(event)
        if batch:
            self.emit(batch, authenticated)

    def batch_limit(self) -> int:
        return min(MAX_BATCH, 1 + int(self.rng.expovariate(1 / 6)))

    def emit(self, batch: list[_Event], authenticated: bool) -> None:
        rng = self.rng
        sent = batch[-1][0] + rng.uniform(0.2, 3.0)
        if rng.random() < 0.03:  # the phone was offline for a while
            sent += rng.uniform(60, 7200)
        # The SDK queue is FIFO: a request is never sent before the one queued ahead of it.
        sent = min(max(sent, self.last_sent), self.end_ts)
        self.last_sent = sent
        sent_iso = _iso(sent)
        wire = [
            {
                "name": name,
                "props": props,
                "event_id": self.uuid(),
                "anonymous_id": self.anonymous_id,
                "timestamp": _iso(ts),
                "sent_at": sent_iso,
                "platform": self.platform,
                "app_build": self.app_build,
                "device_model": self.device_model,
            }
            for ts, name, props in batch
        ]
        request = SyntheticRequest(
            user_id=self.user_id if authenticated else None,
            sent_at=datetime.fromtimestamp(sent, UTC),
            events=wire,
        )
        self.out.append((sent, request))


# --------------------------------------------------------------------------------------------------
# Faults


def _inject_faults(
    requests: list[SyntheticRequest], seed: int, end: datetime
) -> list[SyntheticRequest]:
    """Make a small deterministic fraction of requests faulty; returns the list re-sorted."""
    rng = random.Random(f"everreach-synthetic-faults:{seed}")
    end_ts = end.timestamp()
    out: list[SyntheticRequest] = []
    for request in requests:
        out.append(request)
        u = rng.random()
        if u < 0.02:
            sent_ts = request.sent_at.timestamp()
            retry_ts = max(sent_ts, min(end_ts, sent_ts + rng.uniform(1, 90)))
            out.append(
                SyntheticRequest(
                    user_id=request.user_id,
                    sent_at=datetime.fromtimestamp(retry_ts, UTC),
                    events=[{**e, "props": dict(e["props"])} for e in request.events],
                    fault=FAULT_RETRY,
                    faulty_events=tuple(range(len(request.events))),
                )
            )
        elif u < 0.03:
            if len(request.events) >= MAX_BATCH:
                continue
            position = rng.randrange(len(request.events) + 1)
            neighbour = request.events[min(position, len(request.events) - 1)]
            bogus = {
                **neighbour,
                "name": rng.choice(_UNKNOWN_NAMES),
                "props": {"screen": rng.choice(("home", "contact_detail", "compose"))},
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            }
            request.events.insert(position, bogus)
            request.fault = FAULT_UNKNOWN_EVENT
            request.faulty_events = (position,)
        elif u < 0.04:
            candidates = [i for i, e in enumerate(request.events) if e["name"] in _DROPPABLE]
            if not candidates:
                continue
            i = rng.choice(candidates)
            event = request.events[i]
            drop = _DROPPABLE[event["name"]]
            request.events[i] = {
                **event,
                "props": {k: v for k, v in event["props"].items() if k != drop},
            }
            request.fault = FAULT_MISSING_PROPERTY
            request.faulty_events = (i,)
    out.sort(key=lambda r: r.sent_at)
    return out

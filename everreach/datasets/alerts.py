"""Alert thresholds on the label metrics, judged per UTC day and kept per day.

The product report's alerts (trial conversion under 10 %, AI dislike rate over 20 %, paywall CTR
under 25 %, paywall shown but no purchase within 24 h) are rules on one day's overall value of a
metric. Each run of the label metrics writes one verdict per day of its window and alert into
`analytics.alert_verdicts`, replacing only those days: backfilling an old day changes that day's
verdict and leaves the others as they were. A day without data is `no_data`, never `ok`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import psycopg
from psycopg.rows import class_row

from everreach.platform.day_locks import lock_days
from everreach.platform.sql_files import sql_folder

query = sql_folder(__package__)

DISLIKE_RATE = "dislike_rate"
Status = Literal["breached", "ok", "no_data"]
Rule = Literal["at_least", "at_most", "above"]


@dataclass(frozen=True)
class Alert:
    """A rule on one day's overall value of `metric`: `at_least`/`at_most` `threshold`, or
    `above` it (a value equal to the threshold breaches)."""

    name: str
    metric: str
    rule: Rule
    threshold: float
    summary: str

    @property
    def description(self) -> str:
        return f"Warn on each day when {self.summary} (a day without data is 'no data')."

    def breached(self, value: float) -> bool:
        if self.rule == "at_least":
            return value < self.threshold
        if self.rule == "at_most":
            return value > self.threshold
        return value <= self.threshold

    def status(self, value: float | None) -> Status:
        if value is None:
            return "no_data"
        return "breached" if self.breached(value) else "ok"


ALERTS = (
    Alert(
        "trial_conversion_at_least_10pct",
        "trial_conversion_rate",
        "at_least",
        0.10,
        "trial conversion is under 10%",
    ),
    Alert(
        "dislike_rate_at_most_20pct",
        DISLIKE_RATE,
        "at_most",
        0.20,
        "more than 20% of the thumbs on the day's AI responses are dislikes",
    ),
    Alert(
        "paywall_ctr_at_least_25pct",
        "ctr_paywall",
        "at_least",
        0.25,
        "under 25% of the people shown a paywall start a purchase that day",
    ),
    Alert(
        "paywall_purchase_within_24h",
        "paywall_purchase_24h",
        "above",
        0.0,
        "people were shown a paywall and none of them bought within 24 h",
    ),
)


@dataclass(frozen=True)
class Verdict:
    day: date
    alert: str
    status: Status
    value: float | None
    threshold: float


def judge(
    alerts: Iterable[Alert], days: Iterable[date], values: Mapping[date, Mapping[str, float | None]]
) -> list[Verdict]:
    """One verdict per day and alert, from each day's overall metric values."""
    return [
        Verdict(
            day,
            a.name,
            a.status(values.get(day, {}).get(a.metric)),
            values.get(day, {}).get(a.metric),
            a.threshold,
        )
        for day in days
        for a in alerts
    ]


def store_verdicts(conn: psycopg.Connection, days: list[date], verdicts: list[Verdict]) -> None:
    """Replace the verdicts of `days` (and only those)."""
    with conn.transaction():
        lock_days(conn, "analytics.alert_verdicts", days)
        conn.execute(query("delete_alert_verdicts"), (days[0], days[-1] + timedelta(days=1)))
        with conn.cursor() as cur:
            cur.executemany(
                query("insert_alert_verdict"),
                [(v.day, v.alert, v.status, v.value, v.threshold) for v in verdicts],
            )


def _verdicts(conn: psycopg.Connection, name: str, params: Mapping[str, object]) -> list[Verdict]:
    with conn.cursor(row_factory=class_row(Verdict)) as cur:
        return cur.execute(query(name), params).fetchall()


def recent_verdicts(conn: psycopg.Connection, days: int) -> list[Verdict]:
    """The verdicts of the `days` days up to the latest judged day, oldest first."""
    return _verdicts(conn, "select_recent_verdicts", {"days": days})


def unsent_breaches(conn: psycopg.Connection, channel: str) -> list[Verdict]:
    """Breached verdicts that no notification on `channel` has been sent for yet."""
    return _verdicts(conn, "select_unsent_breaches", {"channel": channel})


def breaches_on(conn: psycopg.Connection, days: list[date]) -> list[Verdict]:
    """The alerts that breached on `days`, by day then alert."""
    return _verdicts(conn, "select_breaches_on", {"days": days})


def breach_subject(verdict: Verdict) -> str:
    """The once-only key of a notification about a breached day."""
    return f"alert:{verdict.alert}:{verdict.day.isoformat()}"


@contextmanager
def notification_once(conn: psycopg.Connection, subject: str, channel: str) -> Iterator[bool]:
    """True inside the block when no notification about `subject` went out on `channel`.

    The claim commits only if the block completes: a send that raises leaves nothing behind,
    so the next attempt tries again; one that completed is never sent again, restarts included.
    """
    with conn.transaction():
        claimed = conn.execute(
            query("claim_notification"), {"subject": subject, "channel": channel}
        ).fetchone()
        yield claimed is not None

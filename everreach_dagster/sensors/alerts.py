"""Telling people: a notification per breached day and alert, and one per failed run.

Two sensors, both RUNNING by default. `alert_notifications` reads the per-day verdicts the
label metrics store (`analytics.alert_verdicts`) and sends one message per breached (day, alert)
on each configured channel; `run_failure_notifications` sends one per failed run. Channels: a
Slack-compatible incoming webhook (`EVERREACH_ALERT_WEBHOOK_URL`, a JSON `{"text": ...}` POST)
and mail to `EVERREACH_ALERT_EMAIL` through the app's mail backend (file, SMTP or Resend).

What was sent is remembered in Postgres (`analytics.alert_notifications`, claimed in the same
transaction that sends), so a daemon restart or a second tick never repeats a message, and a
send that failed is tried again on the next tick.
"""

# Dagster reads the decorated functions' annotations at definition time: no postponed annotations.
import asyncio
from dataclasses import dataclass

import dagster as dg
import httpx

from everreach.accounts import build_backend
from everreach.accounts.mail.messages import Mail
from everreach.datasets import ALERTS, Verdict, breach_subject, notification_once, unsent_breaches
from everreach.platform import Settings
from everreach_dagster.resources import DatabaseResource

WEBHOOK = "webhook"
MAIL = "mail"
SEND_TIMEOUT_S = 10.0
ALERTS_BY_NAME = {a.name: a for a in ALERTS}


@dataclass(frozen=True)
class Channels:
    """The configured ways to tell someone; sending raises when delivery fails."""

    settings: Settings

    @property
    def names(self) -> list[str]:
        return [
            name
            for name, configured in (
                (WEBHOOK, self.settings.alert_webhook_url),
                (MAIL, self.settings.alert_email),
            )
            if configured
        ]

    def send(self, channel: str, subject: str, text: str) -> None:
        if channel == WEBHOOK:
            assert self.settings.alert_webhook_url is not None
            response = httpx.post(
                self.settings.alert_webhook_url, json={"text": text}, timeout=SEND_TIMEOUT_S
            )
            response.raise_for_status()
            return
        assert self.settings.alert_email is not None
        mail = Mail(to=self.settings.alert_email, subject=subject, text=text, html=f"<p>{text}</p>")
        asyncio.run(build_backend(self.settings).send(mail))


def breach_text(verdict: Verdict) -> str:
    alert = ALERTS_BY_NAME.get(verdict.alert)
    what = alert.summary if alert else verdict.alert
    value = "no value" if verdict.value is None else f"{verdict.value:.4g}"
    return (
        f"EverReach alert {verdict.alert} fired for {verdict.day.isoformat()}: {what} "
        f"(value {value}, threshold {verdict.threshold:g})."
    )


def alert_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """The alert sensor and the run-failure sensor, sending through `settings`' channels."""
    channels = Channels(settings)

    @dg.sensor(
        name="alert_notifications",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One message per breached day and alert (webhook and/or mail), never twice.",
    )
    def alert_notifications(
        context: dg.SensorEvaluationContext, database: DatabaseResource
    ) -> dg.SkipReason:
        if not channels.names:
            return dg.SkipReason(
                "no alert channel: set EVERREACH_ALERT_WEBHOOK_URL and/or EVERREACH_ALERT_EMAIL"
            )
        sent = 0
        with database.connect() as conn:
            for channel in channels.names:
                for verdict in unsent_breaches(conn, channel):
                    subject = breach_subject(verdict)
                    with notification_once(conn, subject, channel) as first:
                        if first:
                            channels.send(channel, subject, breach_text(verdict))
                            sent += 1
        context.log.info(f"sent {sent} alert notification(s)")
        return dg.SkipReason(f"sent {sent} alert notification(s)")

    @dg.run_failure_sensor(
        name="run_failure_notifications",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="One message per failed run (webhook and/or mail), never twice.",
    )
    def run_failure_notifications(
        context: dg.RunFailureSensorContext, database: DatabaseResource
    ) -> None:
        run = context.dagster_run
        subject = f"run_failure:{run.run_id}"
        text = (
            f"EverReach Dagster run {run.run_id} of {run.job_name} failed: "
            f"{context.failure_event.message or 'no message'}"
        )
        with database.connect() as conn:
            for channel in channels.names:
                with notification_once(conn, subject, channel) as first:
                    if first:
                        channels.send(channel, subject, text)

    return [alert_notifications, run_failure_notifications]

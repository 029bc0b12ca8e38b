"""The emails we send, rendered from the Jinja2 templates beside this module.

Each email has an HTML part (responsive, branded) and a plain-text part with the same content,
for clients that show no HTML. Links come from the configured app URL, never from a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

RESET_PATH = "/reset-password"


@dataclass(frozen=True)
class Mail:
    """One email to one recipient, before any backend's encoding."""

    to: str
    subject: str
    text: str
    html: str


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("everreach.accounts.mail", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _render(to: str, subject: str, template: str, **values: object) -> Mail:
    env = _templates()
    values["subject"] = subject
    return Mail(
        to=to,
        subject=subject,
        text=env.get_template(f"{template}.txt").render(values),
        html=env.get_template(f"{template}.html").render(values),
    )


def reset_link(app_url: str, token: str) -> str:
    """`<app_url>/reset-password?token=...`: the page that posts the new password."""
    return f"{app_url.rstrip('/')}{RESET_PATH}?{urlencode({'token': token})}"


def password_reset_mail(to: str, app_url: str, token: str, expires_minutes: int) -> Mail:
    return _render(
        to,
        "Reset your EverReach password",
        "password_reset",
        link=reset_link(app_url, token),
        expires_minutes=expires_minutes,
    )


def password_changed_mail(to: str, app_url: str, changed_at: datetime) -> Mail:
    return _render(
        to,
        "Your EverReach password was changed",
        "password_changed",
        app_url=app_url,
        changed_at=changed_at.strftime("%Y-%m-%d at %H:%M UTC"),
    )

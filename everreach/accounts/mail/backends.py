"""Mail delivery backends: Resend's HTTP API, SMTP, and .eml files under EVERREACH_HOME.

The file backend is the default: a fresh machine "sends" mail without any account, and the
messages can be opened in any mail client (or read back by tests). Every backend raises
`MailError` when delivery fails; the caller decides what a failure means.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol

import httpx

from everreach.accounts.mail.messages import Mail

SEND_TIMEOUT_S = 10.0


class MailError(Exception):
    """Delivery failed; the message says how, never what was in the mail."""


class MailBackend(Protocol):
    name: str

    async def send(self, mail: Mail) -> None: ...


def email_message(mail: Mail, sender: str) -> EmailMessage:
    """The MIME form: multipart/alternative with the plain-text part first, HTML preferred."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "everreach.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


@dataclass
class FileBackend:
    """Writes each message to `<directory>/<utc time>-<uuid>.eml` (renamed into place whole)."""

    directory: Path
    sender: str
    name: str = "file"

    def _write(self, mail: Mail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        partial = self.directory / f".{stem}.tmp"
        partial.write_bytes(email_message(mail, self.sender).as_bytes(policy=SMTP))
        partial.chmod(0o600)  # the message holds a live reset link
        partial.rename(self.directory / f"{stem}.eml")

    async def send(self, mail: Mail) -> None:
        try:
            await asyncio.to_thread(self._write, mail)
        except OSError as exc:
            raise MailError(f"cannot write the message file ({type(exc).__name__})") from exc


@dataclass
class SmtpBackend:
    """Any SMTP relay; `security` is STARTTLS (port 587), implicit TLS (465) or none (local)."""

    host: str
    port: int
    sender: str
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    name: str = "smtp"

    def _send(self, mail: Mail) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=SEND_TIMEOUT_S, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT_S)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email_message(mail, self.sender))

    async def send(self, mail: Mail) -> None:
        try:
            await asyncio.to_thread(self._send, mail)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"SMTP delivery failed ({type(exc).__name__})") from exc


@dataclass
class ResendBackend:
    """Resend's `POST /emails`; `base_url` is configurable so tests can stand in for the API."""

    api_key: str
    sender: str
    base_url: str = "https://api.resend.com"
    name: str = "resend"

    async def send(self, mail: Mail) -> None:
        body = {
            "from": self.sender,
            "to": [mail.to],
            "subject": mail.subject,
            "html": mail.html,
            "text": mail.text,
        }
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=SEND_TIMEOUT_S) as client:
                response = await client.post(
                    "/emails", json=body, headers={"Authorization": f"Bearer {self.api_key}"}
                )
        except httpx.HTTPError as exc:
            raise MailError(f"Resend unreachable ({type(exc).__name__})") from exc
        if response.is_error:
            raise MailError(f"Resend answered HTTP {response.status_code}")

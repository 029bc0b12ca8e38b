"""The `Mailer`: the backend the settings choose, and delivery whose failure is only logged.

A failed send must not change what the API answered (the reset request has long been answered
by then), and the log line says which email kind failed and why, without recipient or content:
the content holds a live reset token.
"""

from __future__ import annotations

import structlog

from everreach.accounts.mail.backends import (
    FileBackend,
    MailBackend,
    MailError,
    ResendBackend,
    SmtpBackend,
)
from everreach.accounts.mail.messages import Mail
from everreach.platform.metrics import MAIL_SENT
from everreach.platform.settings import Settings

log = structlog.get_logger(__name__)


def build_backend(settings: Settings) -> MailBackend:
    """`mail_backend`, or with `auto`: Resend with an API key, else SMTP with a host, else files."""
    choice = settings.mail_backend
    if choice == "auto":
        if settings.resend_api_key:
            choice = "resend"
        elif settings.smtp_host:
            choice = "smtp"
        else:
            choice = "file"
    if choice == "resend":
        if not settings.resend_api_key:
            raise ValueError("mail_backend=resend needs RESEND_API_KEY")
        return ResendBackend(
            api_key=settings.resend_api_key.get_secret_value(),
            sender=settings.from_email,
            base_url=settings.resend_api_base_url,
        )
    if choice == "smtp":
        if not settings.smtp_host:
            raise ValueError("mail_backend=smtp needs EVERREACH_SMTP_HOST")
        return SmtpBackend(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.from_email,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        )
    return FileBackend(directory=settings.home_dir / "mail", sender=settings.from_email)


class Mailer:
    """Sends through one backend; failures are logged and counted, never raised."""

    def __init__(self, backend: MailBackend) -> None:
        self.backend = backend

    async def deliver(self, mail: Mail, kind: str) -> bool:
        """Send `mail`; True when the backend accepted it."""
        try:
            await self.backend.send(mail)
        except MailError as exc:
            MAIL_SENT.labels(kind, "failed").inc()
            log.warning("mail not sent", kind=kind, backend=self.backend.name, error=str(exc))
            return False
        MAIL_SENT.labels(kind, "sent").inc()
        return True

"""Keyed pseudonyms for identifiers that are PII: an email or phone used as a user or device id.

PostHog's `distinct_id` and Segment's `userId`/`anonymousId` are whatever the app chose, and apps
often choose the person's email address or phone number. Such an id is never stored: it is
replaced by ``psn_`` + the first 32 hex digits (128 bits) of HMAC-SHA256 keyed with a server
secret. The same id always gives the same pseudonym, so everything keyed by the id still works
(identity links, a user's history, label metrics, the rate limit, PostHog's person), while the
address itself cannot be read back, nor confirmed by hashing guesses without the key.

Which ids: those in which the PII scrubber finds anything (`scrub_text` changes them). UUIDs,
database ids and device ids are kept as they are, so nothing changes for apps that use them.
Before hashing, an email is case-folded and a phone number reduced to its digits (and a leading
``+``), so ``Jane@X.com`` / ``jane@x.com`` and ``+33 6 12 34 56 78`` / ``+33612345678`` are one
person. A pseudonym holds no PII, so pseudonymising it again returns it unchanged.

The key: ``EVERREACH_PSEUDONYM_SECRET``, else one generated once under ``EVERREACH_HOME`` (like the
JWT key). Changing it changes every pseudonym from then on: a person's new events no longer join
the old ones, so keep it with the database's backups.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from everreach.platform.secrets import home_secret
from everreach.platform.settings import Settings
from everreach.privacy.pii import PHONE, scrub_text

PREFIX = "psn_"
_HEX_DIGITS = 32
_SECRET_FILE = "pseudonym_secret"
_NOT_PHONE_DIGIT = re.compile(r"[^0-9]")


class Pseudonymizer:
    """Turns identifiers that are PII into keyed pseudonyms; leaves the others alone."""

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ValueError("the pseudonym secret must be at least 16 bytes")
        self._key = key

    def pseudonym(self, identifier: str) -> str:
        """``psn_`` + 32 hex digits of HMAC-SHA256(secret, the normalised identifier)."""
        digest = hmac.new(self._key, _normalised(identifier).encode(), hashlib.sha256)
        return PREFIX + digest.hexdigest()[:_HEX_DIGITS]

    def identifier(self, value: str | None) -> str | None:
        """``value`` itself when it holds no PII, else its pseudonym (None and "" unchanged)."""
        if not value or scrub_text(value) == value:
            return value
        return self.pseudonym(value)

    def for_request(self) -> Pseudonymizer:
        """This pseudonymizer, remembering its answers for the life of one request.

        A request's events come from one device and mostly one user, so the same two ids recur
        in every event; each is checked (and hashed, if it is PII) once. The answers live only
        as long as the request: ids that are PII are never kept beyond it.
        """
        return _RequestPseudonymizer(self._key)


class _RequestPseudonymizer(Pseudonymizer):
    """A Pseudonymizer with the answers of one request remembered (see `for_request`)."""

    def __init__(self, secret: str | bytes) -> None:
        super().__init__(secret)
        self._answers: dict[str | None, str | None] = {}

    def identifier(self, value: str | None) -> str | None:
        answers = self._answers
        if value in answers:
            return answers[value]
        answer = answers[value] = super().identifier(value)
        return answer


def _normalised(identifier: str) -> str:
    value = identifier.strip()
    if "@" in value:
        return value.casefold()
    if scrub_text(value) == PHONE:
        return ("+" if value.startswith("+") else "") + _NOT_PHONE_DIGIT.sub("", value)
    return value


def pseudonym_secret(settings: Settings) -> str:
    """The configured key, else one generated once and kept (0600) under EVERREACH_HOME."""
    configured = settings.pseudonym_secret
    return home_secret(
        settings, _SECRET_FILE, configured.get_secret_value() if configured else None
    )

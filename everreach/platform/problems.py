"""Client faults as data: a status, a stable machine-readable code and a human sentence.

The domain raises `ClientFault`; the API edge renders it as RFC 9457 problem details. Keeping the
type here lets the domain say precisely what was wrong without importing the web framework.
"""

from __future__ import annotations

from typing import Any


class ClientFault(Exception):
    """A request the client must change before retrying (4xx), or a retryable refusal."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def too_many_requests(code: str, detail: str, retry_after_s: int) -> ClientFault:
    """A 429 that says when to come back, in the header and in the body."""
    return ClientFault(
        429,
        code,
        detail,
        headers={"Retry-After": str(retry_after_s)},
        extra={"retry_after_s": retry_after_s},
    )

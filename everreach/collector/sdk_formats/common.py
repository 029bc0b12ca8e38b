"""What the SDK translators share: event ids, key checks, identifier and context helpers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from everreach.platform.problems import ClientFault

# Fixed namespace for ids derived from SDK ids that are not UUIDs (uuid5): the same SDK id always
# maps to the same event_id, so a retried event deduplicates like any other.
SDK_ID_NAMESPACE = uuid.UUID("6c1f3a52-8d0e-5b7a-9f4e-2b1d7c9e0a31")

Identifier = Annotated[str, msgspec.Meta(max_length=200)] | int
MAX_CONTEXT_TEXT = 200


def event_uuid(source: str, sdk_id: str | None) -> uuid.UUID:
    """The event_id for an SDK's event id: itself when it is a UUID, else a stable uuid5.

    No id at all gets a random one (as on /v1/ingest): such an event cannot be deduplicated.
    """
    if not sdk_id:
        return uuid.uuid4()
    try:
        return uuid.UUID(sdk_id)
    except ValueError:
        return uuid.uuid5(SDK_ID_NAMESPACE, f"{source}:{sdk_id}")


def accepted_keys(setting: str) -> frozenset[str]:
    """The keys of a comma-separated setting (blank entries ignored)."""
    return frozenset(key.strip() for key in setting.split(",") if key.strip())


def require_known_keys(found: list[Any], accepted: frozenset[str], *, what: str, env: str) -> None:
    """Refuse (401) a request whose keys are missing, not strings, or not configured.

    `found` holds the keys as the body gave them: JSON can put a list or an object where a key
    belongs, and such a value is refused by name rather than trusted to be text.
    """
    if not found:
        raise ClientFault(401, f"missing_{what}", f"the request carries no {what}")
    if not all(isinstance(key, str) and key for key in found):
        raise ClientFault(
            401,
            f"invalid_{what}",
            f"`{what}` must be a non-empty string",
            extra={"field": what},
        )
    unknown = set(found) - accepted
    if unknown:
        hint = "" if accepted else f"; none is configured (set {env})"
        raise ClientFault(401, f"invalid_{what}", f"{what} is not a configured key{hint}")


def stringify_id(value: str | int | None) -> str | None:
    """An SDK identifier as text (SDKs send numbers too); empty means absent."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def short_text(value: Any) -> str | None:
    """`value` when it is a short string: context columns only take what fits them."""
    if isinstance(value, str) and 0 < len(value) <= MAX_CONTEXT_TEXT:
        return value
    return None

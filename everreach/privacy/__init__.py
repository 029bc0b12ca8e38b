"""Personal data: what must never be stored, forwarded or exported, and a person's requests.

`pii` scrubs event payloads before anything is stored (emails, phones, national ids, card
numbers, secrets in free text and under sensitive keys); `pseudonyms` replaces user and device
ids that are PII (an email as a PostHog distinct_id) with keyed pseudonyms. `erasure` removes a
person on request and `suppression` keeps their identifiers out afterwards (keyed hashes only);
`access_export` streams everything stored about a person.
"""

from everreach.privacy.access_export import export_person
from everreach.privacy.erasure import (
    ErasureReceipt,
    PendingRebuild,
    erase_user,
    mark_rebuilt,
    pending_rebuilds,
    read_receipt,
)
from everreach.privacy.pii import is_sensitive_key, scrub, scrub_text
from everreach.privacy.pseudonyms import Pseudonymizer, pseudonym_secret
from everreach.privacy.suppression import IdentifierHasher, identifier_hasher, suppressed_among

__all__ = [
    "ErasureReceipt",
    "IdentifierHasher",
    "PendingRebuild",
    "Pseudonymizer",
    "erase_user",
    "export_person",
    "identifier_hasher",
    "is_sensitive_key",
    "mark_rebuilt",
    "pending_rebuilds",
    "pseudonym_secret",
    "read_receipt",
    "scrub",
    "scrub_text",
    "suppressed_among",
]

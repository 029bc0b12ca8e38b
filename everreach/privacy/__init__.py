"""Personal data: what must never be stored, forwarded or exported.

`pii` scrubs event payloads before anything is stored (emails, phones, national ids, card
numbers, secrets in free text and under sensitive keys); `pseudonyms` replaces user and device
ids that are PII (an email as a PostHog distinct_id) with keyed pseudonyms.
"""

from everreach.privacy.pii import is_sensitive_key, scrub, scrub_text
from everreach.privacy.pseudonyms import Pseudonymizer, pseudonym_secret

__all__ = ["Pseudonymizer", "is_sensitive_key", "pseudonym_secret", "scrub", "scrub_text"]

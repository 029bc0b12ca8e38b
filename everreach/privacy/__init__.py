"""Personal data: what must never be stored, forwarded or exported.

`pii` scrubs event payloads before anything is stored (emails, phones, national ids, card
numbers, secrets in free text and under sensitive keys).
"""

from everreach.privacy.pii import is_sensitive_key, scrub, scrub_text

__all__ = ["is_sensitive_key", "scrub", "scrub_text"]

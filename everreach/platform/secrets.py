"""Server secrets that a fresh machine generates for itself: configured, else kept under home.

The JWT signing key and the privacy key (HMAC of suppressed identifiers) work the same way: a
configured value wins; otherwise one random key is generated on first use and kept (0600) in
`EVERREACH_HOME/secrets/`, so every process sharing the home shares it and no secret is in the
repository.
"""

from __future__ import annotations

import secrets

from everreach.platform.settings import Settings


def home_secret(settings: Settings, name: str, configured: str | None) -> str:
    """`configured` when set, else the key in `<home>/secrets/<name>`, generated once."""
    if configured:
        return configured
    path = settings.secrets_dir / name
    if not path.exists():
        key = secrets.token_hex(32)
        try:
            with path.open("x", encoding="utf-8") as handle:
                path.chmod(0o600)
                handle.write(key)
        except FileExistsError:
            pass  # another process won the race; use its key
    return path.read_text(encoding="utf-8").strip()

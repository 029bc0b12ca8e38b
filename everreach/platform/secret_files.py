"""Server secrets generated once and kept under EVERREACH_HOME, for when none is configured.

A fresh machine then works with no setup and no secret in the repo, and every process that shares
the home shares the key. Used for the JWT signing key and the pseudonym key.
"""

from __future__ import annotations

import secrets

from everreach.platform.settings import Settings


def home_secret(settings: Settings, name: str) -> str:
    """The key in ``<home>/secrets/<name>``, generated when absent (32 random bytes, hex, 0600).

    Creation is exclusive: when several processes start at once, one writes the file and the
    others read the key it wrote.
    """
    path = settings.secrets_dir / name
    if not path.exists():
        try:
            with path.open("x", encoding="utf-8") as handle:
                path.chmod(0o600)
                handle.write(secrets.token_hex(32))
        except FileExistsError:
            pass  # another process won the race; use its key
    return path.read_text(encoding="utf-8").strip()

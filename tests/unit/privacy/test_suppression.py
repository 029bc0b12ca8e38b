"""Suppressed identifiers are kept as keyed hashes: stable for one key, useless without it."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from everreach.platform.settings import Settings
from everreach.privacy import IdentifierHasher, identifier_hasher


def test_the_hash_is_stable_per_key_and_differs_between_keys_and_from_a_plain_digest() -> None:
    first, again, other = IdentifierHasher("k1"), IdentifierHasher("k1"), IdentifierHasher("k2")
    assert first("user-1") == again("user-1") != first("user-2")
    assert first("user-1") != other("user-1")
    assert first("user-1") != hashlib.sha256(b"user-1").digest()


def test_the_key_is_generated_once_under_home_unless_configured(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, privacy_secret=None)
    generated = identifier_hasher(settings)
    key_file = tmp_path / "secrets" / "privacy_secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert identifier_hasher(Settings(home=tmp_path))("u") == generated("u")  # reused
    configured = identifier_hasher(Settings(home=tmp_path, privacy_secret="from-the-env"))
    assert configured("u") == IdentifierHasher("from-the-env")("u") != generated("u")

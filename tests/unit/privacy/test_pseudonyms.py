"""Keyed pseudonyms for ids that are PII: stable, keyed, normalised, PII-free, and only for PII."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everreach.platform.settings import Settings
from everreach.privacy import Pseudonymizer, pseudonym_secret, scrub_text
from tests.unit.privacy.test_pii import emails, phone_numbers

KEY = "a test key of at least sixteen bytes"


@settings(max_examples=200, deadline=None)
@given(st.one_of(emails, phone_numbers()))
def test_an_email_or_phone_becomes_a_stable_pii_free_pseudonym(identifier: str) -> None:
    pseudonyms = Pseudonymizer(KEY)
    out = pseudonyms.identifier(identifier)
    assert out == pseudonyms.pseudonym(identifier) == Pseudonymizer(KEY).identifier(identifier)
    assert out is not None and out.startswith("psn_") and len(out) == 4 + 32
    assert identifier not in out
    assert scrub_text(out) == out  # a pseudonym holds nothing the scrubber would take
    assert pseudonyms.identifier(out) == out  # so pseudonymising again changes nothing


@pytest.mark.parametrize(
    "identifier",
    [str(uuid.uuid4()), "device-1", "ajs-anon-7f3a", "user_42", "12345678901", "", None],
)
def test_ids_that_are_not_pii_are_kept_as_they_are(identifier: str | None) -> None:
    assert Pseudonymizer(KEY).identifier(identifier) == identifier


def test_one_person_written_two_ways_is_one_pseudonym() -> None:
    pseudonyms = Pseudonymizer(KEY)
    assert pseudonyms.identifier("Jane@Example.com ") == pseudonyms.identifier("jane@example.com")
    assert pseudonyms.identifier("+33 6 12 34 56 78") == pseudonyms.identifier("+33612345678")
    assert pseudonyms.identifier("+1 (555) 123-4567") == pseudonyms.identifier("+1 555.123.4567")


def test_the_pseudonym_depends_on_the_key() -> None:
    email = "jane@example.com"
    assert Pseudonymizer(KEY).pseudonym(email) != Pseudonymizer(KEY + "!").pseudonym(email)
    with pytest.raises(ValueError):
        Pseudonymizer("short")


def test_the_key_is_the_configured_one_else_generated_once_under_home(tmp_path: Path) -> None:
    configured = Settings(home=tmp_path / "a", pseudonym_secret="configured-secret-value")
    assert pseudonym_secret(configured) == "configured-secret-value"
    generated = Settings(home=tmp_path / "b")
    first = pseudonym_secret(generated)
    assert len(first) == 64 and pseudonym_secret(Settings(home=tmp_path / "b")) == first
    path = generated.secrets_dir / "pseudonym_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_secret(Settings(home=tmp_path / "c")) != first


def test_a_request_remembers_its_answers_without_changing_them() -> None:
    pseudonyms = Pseudonymizer(KEY)
    ids = ["jane@example.com", str(uuid.uuid4()), "+33 6 12 34 56 78", "user_42", "", None]
    request = pseudonyms.for_request()
    # asked twice (the second time from memory), and the same as without a request
    assert [request.identifier(i) for i in ids * 2] == [pseudonyms.identifier(i) for i in ids * 2]

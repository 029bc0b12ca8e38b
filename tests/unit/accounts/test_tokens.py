"""JWT verification refuses everything but a well-formed, signed, unexpired HS256 token."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from everreach.accounts.tokens import InvalidToken, TokenCodec, signing_key
from everreach.platform.settings import Settings

KEY = "k" * 48


def reason(codec: TokenCodec, token: str) -> str:
    with pytest.raises(InvalidToken) as info:
        codec.verify(token)
    return info.value.reason


def test_issued_token_verifies_with_claims():
    codec = TokenCodec(KEY)
    claims = codec.verify(codec.issue("user-1", role="admin", now=time.time()))
    assert (claims.sub, claims.role) == ("user-1", "admin")
    assert claims.exp - claims.iat == pytest.approx(3600)


def test_alg_none_wrong_key_expired_missing_sub_and_tampered_are_refused():
    codec = TokenCodec(KEY)
    now = int(time.time())
    none_token = jwt.encode({"sub": "u", "iat": now, "exp": now + 60}, None, algorithm="none")
    assert reason(codec, none_token) == "token_invalid"
    assert reason(codec, TokenCodec("other" * 10).issue("u")) == "token_invalid"
    assert reason(codec, TokenCodec(KEY, ttl_s=-1).issue("u")) == "token_expired"
    no_sub = jwt.encode({"iat": now, "exp": now + 60}, KEY, algorithm="HS256")
    assert reason(codec, no_sub) == "token_claim_missing"
    header, payload, signature = codec.issue("user-1").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin-user"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert reason(codec, f"{header}.{forged}.{signature}") == "token_invalid"


def test_generated_key_is_kept_private_and_stable(tmp_path):
    settings = Settings(home=tmp_path, jwt_secret=None)
    first = signing_key(settings)
    assert len(first) == 64 and signing_key(settings) == first
    key_file = tmp_path / "secrets" / "jwt_secret"
    assert key_file.stat().st_mode & 0o077 == 0

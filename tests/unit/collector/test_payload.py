"""Body decoding: identity, gzip, deflate, caps, bombs, corrupt streams."""

from __future__ import annotations

import gzip
import zlib

import pytest

from everreach.collector.payload import inflate
from everreach.platform.problems import ClientFault


def fault(callable_, *args) -> ClientFault:
    with pytest.raises(ClientFault) as info:
        callable_(*args)
    return info.value


def test_identity_and_gzip_and_deflate_roundtrip():
    data = b'{"name": "x"}' * 100
    assert inflate(data, None, 10_000) == data
    assert inflate(gzip.compress(data), "gzip", 10_000) == data
    assert inflate(zlib.compress(data), "deflate", 10_000) == data


def test_decoded_size_cap_applies_to_compressed_bodies():
    data = b"a" * 10_001
    assert fault(inflate, gzip.compress(data), "gzip", 10_000).status == 413
    assert inflate(gzip.compress(data[:10_000]), "gzip", 10_000) == data[:10_000]
    assert fault(inflate, data, None, 10_000).code == "payload_too_large"


def test_bomb_stops_at_the_cap():
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert fault(inflate, bomb, "gzip", 1_000_000).code == "payload_too_large"


def test_corrupt_and_truncated_streams_are_400():
    assert fault(inflate, b"not gzip", "gzip", 1000).code == "malformed_encoding"
    truncated = gzip.compress(b"x" * 1000)[:-12]
    assert fault(inflate, truncated, "gzip", 10_000).status == 400


def test_unknown_encoding_is_415():
    assert fault(inflate, b"{}", "br", 1000).status == 415

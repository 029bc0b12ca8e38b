"""Turning a request body into JSON bytes safely: size caps and gzip/deflate decoding.

The cap applies to the *decoded* size and decompression stops as soon as it is exceeded, so a
gzip bomb costs at most `limit` bytes of memory before it is refused (413), never the whole
expansion. Shared by every collector endpoint (ours, and the SDK-compatible ones).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from everreach.platform.problems import ClientFault

# zlib's window flag that auto-detects a gzip or zlib header.
_AUTO_HEADER = zlib.MAX_WBITS | 32


def payload_too_large(limit: int) -> ClientFault:
    return ClientFault(413, "payload_too_large", f"the decoded request body exceeds {limit} bytes")


async def read_capped(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Read a streamed body, refusing (413) as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise payload_too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def inflate(data: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Decode `data` per its Content-Encoding, producing at most `limit` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        if len(data) > limit:
            raise payload_too_large(limit)
        return data
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(_AUTO_HEADER)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    else:
        raise ClientFault(
            415,
            "unsupported_encoding",
            f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or none",
        )
    try:
        out = decoder.decompress(data, limit + 1)
        if len(out) > limit or decoder.unconsumed_tail:
            raise payload_too_large(limit)
        out += decoder.flush()
    except zlib.error as exc:
        raise ClientFault(
            400, "malformed_encoding", f"the body is not valid {encoding} data: {exc}"
        ) from exc
    if len(out) > limit:
        raise payload_too_large(limit)
    if not decoder.eof:
        raise ClientFault(400, "malformed_encoding", f"the {encoding} stream is truncated")
    return out

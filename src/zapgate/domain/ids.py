"""Prefixed identifiers.

Most ids are ULIDs (48-bit millisecond time + 80 random bits, Crockford base32) so they sort by
creation time. Key ids are purely random: they can authenticate (``x-api-key-id``), so they must not
be guessable from a creation time.
"""

from __future__ import annotations

import base64
import os
import secrets
import string
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_BASE62 = string.digits + string.ascii_letters


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, _CROCKFORD.encode())


def ulid(now_ms: int | None = None) -> str:
    """26 characters: 48-bit milliseconds then 80 random bits, in an alphabet whose ASCII order
    is its value order, so ids sort by creation time. (The 128 bits are laid out big-endian with
    two padding bits at the end rather than the front; ordering is the same.)"""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    raw = ms.to_bytes(6, "big") + os.urandom(10)
    return base64.b32encode(raw)[:26].translate(_TO_CROCKFORD).decode()


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"


def random_id(prefix: str) -> str:
    return f"{prefix}_{_b32(secrets.randbits(128), 26)}"


def raw_api_key() -> str:
    """``ps_`` + 40 random base62 characters (decisions.md)."""
    return "ps_" + "".join(secrets.choice(_BASE62) for _ in range(40))


def webhook_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()

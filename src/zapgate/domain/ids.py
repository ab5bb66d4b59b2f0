"""Prefixed identifiers.

Most ids are ULIDs (48-bit millisecond time + 80 random bits, Crockford base32) so they sort by
creation time. Key ids are purely random: they can authenticate (``x-api-key-id``), so they must not
be guessable from a creation time.
"""

from __future__ import annotations

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


# Every 10-bit value as two characters: 13 lookups encode 130 bits (the 128 of an id + 2 zero
# bits), far cheaper than base64.b32encode, which is pure Python.
_PAIRS = [_CROCKFORD[i >> 5] + _CROCKFORD[i & 31] for i in range(1024)]


def ulid(now_ms: int | None = None) -> str:
    """26 characters: 48-bit milliseconds then 80 random bits, in an alphabet whose ASCII order
    is its value order, so ids sort by creation time. (The two padding bits are at the end rather
    than the front as in the ULID spec; ordering is the same.)"""
    global _last
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if ms == _last >> 80 and (_last & _RANDOM_MASK) != _RANDOM_MASK:
        # Monotonic within a millisecond (in this process): ids made one after another, e.g.
        # the events of a batch, sort in the order they were made.
        value = _last + 1
    else:
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    _last = value
    value <<= 2
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -10, -10)])


_RANDOM_MASK = (1 << 80) - 1
_last = 0


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"


def floor(prefix: str, ms: int) -> str:
    """The smallest id of ``prefix`` made at ``ms``: every id made before it sorts lower, so a
    range of the primary key is a range of creation times."""
    value = (ms << 80) << 2
    return f"{prefix}_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -10, -10)])


def random_id(prefix: str) -> str:
    return f"{prefix}_{_b32(secrets.randbits(128), 26)}"


def raw_api_key() -> str:
    """``ps_`` + 40 random base62 characters (decisions.md)."""
    return "ps_" + "".join(secrets.choice(_BASE62) for _ in range(40))


def webhook_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()

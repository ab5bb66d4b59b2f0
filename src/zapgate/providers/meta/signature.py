"""``X-Hub-Signature-256`` of Meta callbacks (pure).

The value is ``sha256=<hex HMAC-SHA256(app secret as UTF-8, raw body bytes)>``. Verify the raw
bytes before parsing JSON: re-serialising changes non-ASCII text and breaks the signature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "X-Hub-Signature-256"
PREFIX = "sha256="


def sign(secret: str, raw: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify(secrets: Iterable[str], raw: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``raw`` under any of ``secrets`` (several while
    an app secret is being rotated). Empty secrets never match."""
    if not header or not header.startswith(PREFIX):
        return False
    given = (PREFIX + header[len(PREFIX) :].strip().lower()).encode()
    matched = False
    for secret in secrets:
        if secret:
            # Check every secret so the time taken does not say which one matched.
            matched |= hmac.compare_digest(sign(secret, raw).encode(), given)
    return matched

"""Signatures of customer webhook deliveries (pure: no I/O, no clock).

Every delivery carries two independent schemes (decisions.md, "Webhooks"):

- ``x-pilot-status-signature``: lowercase hex HMAC-SHA256 of the raw body, keyed by the whole
  secret string as UTF-8 (``whsec_`` included) -- what Pilot Status SDK users verify.
- Standard Webhooks: ``webhook-id`` (the event id, stable across retries), ``webhook-timestamp``
  (unix seconds of the attempt) and ``webhook-signature`` = ``v1,<base64 HMAC-SHA256 of
  "{id}.{timestamp}.{body}">`` keyed by the base64-decoded part after ``whsec_``, exactly as the
  ``standardwebhooks`` reference library verifies it. The timestamp gives replay protection.

While a rotated-out secret is still valid, ``webhook-signature`` lists a second ``v1,`` signature
(space-separated, as the spec allows) and the hex scheme, which has room for one value only, gets
``x-pilot-status-signature-previous``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
SIGNATURE_HEADER = "x-pilot-status-signature"
PREVIOUS_SIGNATURE_HEADER = "x-pilot-status-signature-previous"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


def hex_signature(secret: str, body: bytes) -> str:
    """``x-pilot-status-signature``: hex HMAC-SHA256 of the body keyed by the secret's UTF-8."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks signing key: the base64 part after ``whsec_``, decoded."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Padding is appended because the spec tolerates unpadded secrets (b64decode ignores
        # the surplus).
        key = base64.b64decode(encoded + "==")
    except binascii.Error as exc:
        raise ValueError("webhook secret is not base64 after the whsec_ prefix") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def standard_signature(secret: str, *, event_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` entry of ``webhook-signature``."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(
    *, body: bytes, event_id: str, timestamp: int, secret: str, previous_secret: str | None = None
) -> dict[str, str]:
    """The signature headers of one attempt; ``timestamp`` is the attempt's unix seconds."""
    secrets = [secret] if previous_secret is None else [secret, previous_secret]
    headers = {
        SIGNATURE_HEADER: hex_signature(secret, body),
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: " ".join(
            standard_signature(s, event_id=event_id, timestamp=timestamp, body=body) for s in secrets
        ),
    }
    if previous_secret is not None:
        headers[PREVIOUS_SIGNATURE_HEADER] = hex_signature(previous_secret, body)
    return headers


def verify_hex(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of an ``x-pilot-status-signature`` value (for receivers and tests)."""
    return hmac.compare_digest(hex_signature(secret, body), signature.strip().lower())

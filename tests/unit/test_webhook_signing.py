from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from zapgate.domain import ids
from zapgate.webhooks import signing

BODY = b'{"id":"evt_1","event":"message.sent","createdAt":"2026-06-20T10:00:00.000Z","data":{}}'
EVENT_ID = "evt_01j2abc"


def headers_for(secret: str, previous: str | None = None, ts: int | None = None) -> dict[str, str]:
    return signing.sign_headers(
        body=BODY,
        event_id=EVENT_ID,
        timestamp=ts or int(time.time()),
        secret=secret,
        previous_secret=previous,
    )


def test_secret_format_matches_decisions() -> None:
    secret = ids.webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_hex_signature_is_hmac_of_raw_body_keyed_by_whole_secret() -> None:
    secret = ids.webhook_secret()
    expected = hmac.new(secret.encode("utf-8"), BODY, hashlib.sha256).hexdigest()
    headers = headers_for(secret)
    assert headers["x-pilot-status-signature"] == expected
    assert expected == expected.lower() and len(expected) == 64
    assert signing.verify_hex(secret, BODY, expected)
    assert signing.verify_hex(secret, BODY, expected.upper())
    assert not signing.verify_hex(secret, BODY + b" ", expected)


def test_standard_webhooks_reference_library_verifies() -> None:
    secret = ids.webhook_secret()
    headers = headers_for(secret)
    assert headers["webhook-id"] == EVENT_ID
    assert Webhook(secret).verify(BODY, headers) == {
        "id": "evt_1",
        "event": "message.sent",
        "createdAt": "2026-06-20T10:00:00.000Z",
        "data": {},
    }


def test_standard_signature_independent_computation() -> None:
    secret = ids.webhook_secret()
    ts = 1_750_000_000
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{EVENT_ID}.{ts}.".encode() + BODY, hashlib.sha256).digest()
    headers = headers_for(secret, ts=ts)
    assert headers["webhook-timestamp"] == str(ts)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_wrong_secret_tampered_body_and_stale_timestamp_fail() -> None:
    secret = ids.webhook_secret()
    headers = headers_for(secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(ids.webhook_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"sent", b"read"), headers)
    old = headers_for(secret, ts=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, old)


def test_rotation_signs_with_both_secrets() -> None:
    new, old = ids.webhook_secret(), ids.webhook_secret()
    headers = headers_for(new, previous=old)
    entries = headers["webhook-signature"].split(" ")
    assert len(entries) == 2 and all(e.startswith("v1,") for e in entries)
    # Receivers holding either secret accept the delivery.
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    assert signing.verify_hex(new, BODY, headers["x-pilot-status-signature"])
    assert signing.verify_hex(old, BODY, headers["x-pilot-status-signature-previous"])


def test_without_previous_secret_there_is_one_signature() -> None:
    headers = headers_for(ids.webhook_secret())
    assert " " not in headers["webhook-signature"]
    assert "x-pilot-status-signature-previous" not in headers


def test_unpadded_secret_is_accepted_like_the_reference_library() -> None:
    raw = base64.b64encode(b"k" * 31).decode().rstrip("=")
    secret = "whsec_" + raw
    Webhook(secret).verify(BODY, headers_for(secret))


@pytest.mark.parametrize("secret", ["whsec_", "whsec_@@@@"])
def test_unusable_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        signing.standard_key(secret)

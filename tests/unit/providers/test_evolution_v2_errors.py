"""Evolution API v2 error answers -> our exceptions, row by row."""

from __future__ import annotations

from typing import Any

import pytest

from zapgate import errors
from zapgate.providers.evolution_v2 import errortable


def envelope(status: int, message: Any) -> dict[str, Any]:
    reasons = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        500: "Internal Server Error",
    }
    return {"status": status, "error": reasons.get(status, "Error"), "response": {"message": message}}


NOT_ON_WA = envelope(
    400, [{"jid": "5511999999999@s.whatsapp.net", "exists": False, "number": "5511999999999"}]
)

# (name, status, body, exception class, code, health, text in the message)
SEND_ROWS: list[tuple[str, int, Any, type[errors.ProviderError], str, str | None, str]] = [
    (
        "not on WhatsApp",
        400,
        NOT_ON_WA,
        errors.ProviderPermanentError,
        "WHATSAPP_NOT_EXIST",
        None,
        "5511999999999",
    ),
    (
        "bad api key",
        401,
        envelope(401, "Unauthorized"),
        errors.ProviderAuthError,
        "PROVIDER_AUTH_FAILED",
        None,
        "401",
    ),
    (
        "instance missing",
        404,
        envelope(404, ['The "zapgate-n1" instance does not exist']),
        errors.ProviderTemporaryError,
        "NUMBER_DISCONNECTED",
        "INSTANCE_MISSING",
        "zapgate-n1",
    ),
    (
        "unknown route",
        404,
        envelope(404, ["Cannot POST /message/sendSticker/x"]),
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
        "Cannot POST",
    ),
    (
        "socket closed",
        500,
        envelope(500, "Connection Closed"),
        errors.ProviderTemporaryError,
        "NUMBER_DISCONNECTED",
        "DISCONNECTED",
        "Connection Closed",
    ),
    (
        "socket closed inside the pipeline",
        400,
        envelope(400, ["Error: Connection Closed"]),
        errors.ProviderTemporaryError,
        "NUMBER_DISCONNECTED",
        "DISCONNECTED",
        "Connection Closed",
    ),
    (
        "Baileys timeout",
        400,
        envelope(400, ["Error: Timed Out"]),
        errors.ProviderTemporaryError,
        "DELIVERY_TIMEOUT",
        None,
        "Timed Out",
    ),
    (
        "other 500",
        500,
        envelope(500, "Cannot read properties of undefined"),
        errors.ProviderTemporaryError,
        "DELIVERY_TIMEOUT",
        None,
        "Cannot read",
    ),
    ("proxy 502 with html", 502, None, errors.ProviderTemporaryError, "DELIVERY_TIMEOUT", None, "502"),
    (
        "rate limited by a proxy",
        429,
        {"message": "slow down"},
        errors.ProviderTemporaryError,
        "DELIVERY_TIMEOUT",
        None,
        "slow down",
    ),
    (
        "validation error",
        400,
        envelope(400, ['instance requires property "text"']),
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
        'requires property "text"',
    ),
    (
        "several messages",
        400,
        envelope(400, ["Owned media must be a url or base64", "x"]),
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
        "base64; x",
    ),
    (
        "forbidden",
        403,
        envelope(403, ["Forbidden"]),
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
        "Forbidden",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "health", "text"),
    [r[1:] for r in SEND_ROWS],
    ids=[r[0] for r in SEND_ROWS],
)
def test_send_error(
    status: int, body: Any, cls: type[errors.ProviderError], code: str, health: str | None, text: str
) -> None:
    exc = errortable.send_error(status, body)
    assert type(exc) is cls
    assert exc.code == code
    assert getattr(exc, "health", None) == health
    assert text in exc.message


MANAGEMENT_ROWS: list[tuple[str, int, Any, type[Exception], str]] = [
    ("bad api key", 401, envelope(401, "Unauthorized"), errors.ProviderAuthError, "PROVIDER_AUTH_FAILED"),
    (
        "name in use",
        403,
        envelope(403, ['This name "zapgate-n1" is already in use.']),
        errors.ValidationFailed,
        "PROVIDER_REJECTED",
    ),
    (
        "bad request",
        400,
        envelope(400, ["Invalid integration"]),
        errors.ValidationFailed,
        "PROVIDER_REJECTED",
    ),
    (
        "unknown instance",
        404,
        envelope(404, ['The "x" instance does not exist']),
        errors.ValidationFailed,
        "PROVIDER_REJECTED",
    ),
    ("server error", 500, envelope(500, "boom"), errors.Unavailable, "UPSTREAM_ERROR"),
    ("gateway", 504, None, errors.Unavailable, "UPSTREAM_ERROR"),
]


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"), [r[1:] for r in MANAGEMENT_ROWS], ids=[r[0] for r in MANAGEMENT_ROWS]
)
def test_management_error(status: int, body: Any, cls: type[Exception], code: str) -> None:
    exc = errortable.management_error(status, body)
    assert type(exc) is cls
    assert exc.code == code


def test_describe_reads_every_message_shape() -> None:
    assert errortable.describe(401, envelope(401, "Unauthorized")).messages == ("Unauthorized",)
    lookup = errortable.describe(400, NOT_ON_WA)
    assert lookup.not_on_whatsapp and '"exists": false' in lookup.text
    assert errortable.describe(500, "plain text").messages == ()
    assert errortable.describe(500, None).text == "HTTP 500"


def test_detail_is_bounded() -> None:
    exc = errortable.send_error(400, envelope(400, ["x" * 5000]))
    assert len(exc.message) < 400

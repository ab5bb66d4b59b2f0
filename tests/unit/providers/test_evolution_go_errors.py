"""Evolution GO error answers -> our exceptions, row by row."""

from __future__ import annotations

from typing import Any

import pytest

from zapgate import errors
from zapgate.providers.evolution_go import errortable

LICENSE = {
    "error": "service not activated",
    "code": "LICENSE_REQUIRED",
    "register_url": "http://evo:8080/manager/login",
    "message": "License required. Open the manager to activate your license.",
}

# (status, body, exception class, code, health)
SEND_CASES: list[tuple[str, int, Any, type[Exception], str, str | None]] = [
    ("license gate", 503, LICENSE, errors.ProviderTemporaryError, "DELIVERY_TIMEOUT", "LICENSE_REQUIRED"),
    (
        "wrong instance token",
        401,
        {"error": "not authorized"},
        errors.ProviderAuthError,
        "PROVIDER_AUTH_FAILED",
        None,
    ),
    (
        "not on WhatsApp",
        500,
        {"error": "number 5511999999999 is not registered on WhatsApp"},
        errors.ProviderPermanentError,
        "WHATSAPP_NOT_EXIST",
        None,
    ),
    (
        "no session",
        500,
        {"error": "no active session found"},
        errors.ProviderTemporaryError,
        "NUMBER_DISCONNECTED",
        "DISCONNECTED",
    ),
    (
        "no session, via the user check",
        500,
        {"error": "failed to connect client: no active session found"},
        errors.ProviderTemporaryError,
        "NUMBER_DISCONNECTED",
        "DISCONNECTED",
    ),
    (
        "client disconnected",
        500,
        {"error": "client disconnected"},
        errors.ProviderTemporaryError,
        "NUMBER_DISCONNECTED",
        "DISCONNECTED",
    ),
    (
        "image MIME refused",
        500,
        {
            "error": "Invalid file format: 'image/gif'. Only 'image/jpeg', 'image/png' and "
            "'image/webp' are accepted"
        },
        errors.ProviderPermanentError,
        "MEDIA_UNSUPPORTED",
        None,
    ),
    (
        "video MIME refused",
        500,
        {"error": "Invalid file format: 'video/quicktime'. Only 'video/mp4' are accepted"},
        errors.ProviderPermanentError,
        "MEDIA_UNSUPPORTED",
        None,
    ),
    (
        "media type refused",
        500,
        {"error": "invalid media type"},
        errors.ProviderPermanentError,
        "MEDIA_UNSUPPORTED",
        None,
    ),
    (
        "base64 in JSON",
        500,
        {"error": 'Get "data:image/png;base64,iVBOR": unsupported protocol scheme "data"'},
        errors.ProviderPermanentError,
        "MEDIA_UNSUPPORTED",
        None,
    ),
    (
        "sticker not a URL",
        500,
        {"error": "invalid sticker URL"},
        errors.ProviderPermanentError,
        "MEDIA_UNSUPPORTED",
        None,
    ),
    (
        "sticker not an image",
        500,
        {"error": "failed to convert image to WebP: failed to decode image: image: unknown format"},
        errors.ProviderPermanentError,
        "MEDIA_UNSUPPORTED",
        None,
    ),
    (
        "document to a channel",
        500,
        {"error": "documentos não são suportados em canais do WhatsApp. Use imagem, vídeo, áudio ou enquete"},
        errors.ProviderPermanentError,
        "MEDIA_UNSUPPORTED",
        None,
    ),
    (
        "media download failed",
        500,
        {"error": 'Get "https://cdn.example/a.jpg": dial tcp: lookup cdn.example: no such host'},
        errors.ProviderTemporaryError,
        "MEDIA_DOWNLOAD_FAILED",
        None,
    ),
    (
        "sticker download failed",
        500,
        {"error": "failed to convert image to WebP: failed to fetch image from URL: timeout"},
        errors.ProviderTemporaryError,
        "MEDIA_DOWNLOAD_FAILED",
        None,
    ),
    (
        "too many reply buttons",
        500,
        {"error": "máximo de 3 botões do tipo 'reply' permitidos"},
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
    ),
    (
        "mixed buttons",
        500,
        {"error": "botões do tipo 'reply' não podem ser misturados com outros tipos"},
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
    ),
    (
        "bad JID",
        500,
        {"error": "invalid phone number"},
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
    ),
    (
        "validation",
        400,
        {"error": "title is required"},
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
    ),
    (
        "bad number format",
        400,
        {"error": "Invalid number format: invalid number format"},
        errors.ProviderPermanentError,
        "PROVIDER_REJECTED",
        None,
    ),
    (
        "other 500",
        500,
        {"error": "context deadline exceeded"},
        errors.ProviderTemporaryError,
        "DELIVERY_TIMEOUT",
        None,
    ),
    ("gin panic: empty body", 500, "", errors.ProviderTemporaryError, "DELIVERY_TIMEOUT", None),
    (
        "503 without the license code",
        503,
        {"error": "busy"},
        errors.ProviderTemporaryError,
        "DELIVERY_TIMEOUT",
        None,
    ),
    (
        "proxy HTML page",
        502,
        "<html>Bad Gateway</html>",
        errors.ProviderTemporaryError,
        "DELIVERY_TIMEOUT",
        None,
    ),
    (
        "instance missing",
        404,
        {"error": "instance not found"},
        errors.ProviderTemporaryError,
        "DELIVERY_TIMEOUT",
        None,
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "health"), [c[1:] for c in SEND_CASES], ids=[c[0] for c in SEND_CASES]
)
def test_send_error(status: int, body: Any, kind: type[Exception], code: str, health: str | None) -> None:
    error = errortable.send_error(status, body)
    assert type(error) is kind
    assert error.code == code
    assert getattr(error, "health", None) == health


def test_send_error_keeps_the_server_text_for_people() -> None:
    error = errortable.send_error(400, {"error": "footer is required"})
    assert "footer is required" in error.message


def test_license_error_tells_the_operator_what_to_do() -> None:
    error = errortable.send_error(503, LICENSE)
    assert "activate" in error.message and "license" in error.message.lower()


def test_long_server_texts_are_cut() -> None:
    url = "data:image/png;base64," + "A" * 5000
    error = errortable.send_error(500, {"error": f'Get "{url}": unsupported protocol scheme "data"'})
    assert error.code == "MEDIA_UNSUPPORTED"  # matched on the whole text
    assert len(error.message) <= errortable.MAX_DETAIL + 3  # but reported shortened
    assert "AAAA" * 100 not in error.message


# (status, body, exception class, code)
MANAGEMENT_CASES: list[tuple[str, int, Any, type[Exception], str]] = [
    ("license gate", 503, LICENSE, errors.Unavailable, "PROVIDER_LICENSE_REQUIRED"),
    ("wrong key", 401, {"error": "not authorized"}, errors.ProviderAuthError, "PROVIDER_AUTH_FAILED"),
    ("bad input", 400, {"error": "name is required"}, errors.ValidationFailed, "PROVIDER_REJECTED"),
    ("server error", 500, {"error": "instance already exists"}, errors.Unavailable, "UPSTREAM_ERROR"),
    ("plain 503", 503, {"error": "busy"}, errors.Unavailable, "UPSTREAM_ERROR"),
    ("not JSON", 502, "Bad Gateway", errors.Unavailable, "UPSTREAM_ERROR"),
]


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [c[1:] for c in MANAGEMENT_CASES],
    ids=[c[0] for c in MANAGEMENT_CASES],
)
def test_management_error(status: int, body: Any, kind: type[Exception], code: str) -> None:
    error = errortable.management_error(status, body)
    assert type(error) is kind
    assert error.code == code


def test_management_license_message_names_the_fix() -> None:
    error = errortable.management_error(503, LICENSE)
    assert isinstance(error, errors.Unavailable)
    assert "activate" in error.message and "manager" in error.message


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"error": "x"}, "x"),
        ({"message": "success"}, ""),
        ("plain", "plain"),
        (None, ""),
        ({"error": None}, ""),
        (["x"], "['x']"),
    ],
)
def test_error_text(body: Any, text: str) -> None:
    assert errortable.error_text(body) == text

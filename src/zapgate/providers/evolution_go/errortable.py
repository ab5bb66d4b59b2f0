"""Evolution GO error answers -> our exceptions (pure).

Evolution GO answers every error as ``{"error": "<text>"}`` (no numeric codes), with HTTP 400
(validation), 401 (wrong ``apikey``), 500 (everything the service or WhatsApp refused) or 503
(the license gate, whose body also carries ``"code": "LICENSE_REQUIRED"``). The texts below are
the server's own; rows are tried in order and the first match wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zapgate import errors

MAX_DETAIL = 200
LICENSE_HINT = (
    "Evolution GO is not activated: open its manager (/manager) and activate the license, then try again"
)


def full_text(body: Any) -> str:
    """The ``error`` text of a body (or the raw text)."""
    raw = body.get("error") if isinstance(body, dict) else body
    return str(raw or "").strip()


def error_text(body: Any) -> str:
    """``full_text`` shortened for messages: some server errors quote the whole request URL
    (a data: URI, a signed link)."""
    text = full_text(body)
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL] + "..."


def is_license_gate(status: int, body: Any) -> bool:
    return status == 503 and isinstance(body, dict) and body.get("code") == "LICENSE_REQUIRED"


# -- sends ----------------------------------------------------------------------------------

SendError = Callable[[str], errors.ProviderError]


@dataclass(frozen=True)
class Row:
    statuses: tuple[int, ...]  # () = any status
    needles: tuple[str, ...]  # case-insensitive substrings of the error text; () = any text
    build: SendError

    def matches(self, status: int, text: str) -> bool:
        lowered = text.lower()
        return (not self.statuses or status in self.statuses) and (
            not self.needles or any(n.lower() in lowered for n in self.needles)
        )


def _permanent(code: str, prefix: str = "") -> SendError:
    return lambda text: errors.ProviderPermanentError(f"{prefix}{text}", code=code)


def _temporary(code: str, health: str | None = None) -> SendError:
    return lambda text: errors.ProviderTemporaryError(text, code=code, health=health)


def _license(_: str) -> errors.ProviderError:
    return errors.ProviderTemporaryError(LICENSE_HINT, code="DELIVERY_TIMEOUT", health="LICENSE_REQUIRED")


def _auth(_: str) -> errors.ProviderError:
    return errors.ProviderAuthError("Evolution GO refused the instance token (401 not authorized)")


SEND_ROWS: tuple[Row, ...] = (
    Row((401,), (), _auth),
    Row((500,), ("is not registered on whatsapp",), _permanent("WHATSAPP_NOT_EXIST")),
    Row(
        (400, 500),
        ("no active session found", "client disconnected"),
        _temporary("NUMBER_DISCONNECTED", "DISCONNECTED"),
    ),
    Row(
        (500,),
        (
            "invalid file format",
            "invalid media type",
            "unsupported protocol scheme",
            "invalid sticker url",
            "failed to decode image",
            "não são suportados em canais",
        ),
        _permanent("MEDIA_UNSUPPORTED"),
    ),
    # The server downloads media itself; its HTTP client's errors start with `Get "<url>"`.
    Row((500,), ('get "', "failed to fetch image"), _temporary("MEDIA_DOWNLOAD_FAILED")),
    Row(
        (500,),
        ("botões do tipo", "botão do tipo", "máximo de 3 botões", "invalid phone number", "could not parse"),
        _permanent("PROVIDER_REJECTED", "Evolution GO refused the message: "),
    ),
    Row((400,), (), _permanent("PROVIDER_REJECTED", "Evolution GO refused the request (400): ")),
)


def send_error(status: int, body: Any) -> errors.ProviderError:
    """The exception for a failed send call (status >= 300)."""
    if is_license_gate(status, body):
        return _license("")
    text = error_text(body) or f"HTTP {status}"
    for row in SEND_ROWS:
        if row.matches(status, full_text(body)):
            return row.build(text)
    return errors.ProviderTemporaryError(f"Evolution GO answered {status}: {text}", code="DELIVERY_TIMEOUT")


# -- number management ----------------------------------------------------------------------


def management_error(status: int, body: Any) -> errors.ZapgateError | errors.ProviderAuthError:
    """The exception for a failed instance call (create, connect, status, ...)."""
    text = error_text(body) or f"HTTP {status}"
    if is_license_gate(status, body):
        return errors.Unavailable(LICENSE_HINT, code="PROVIDER_LICENSE_REQUIRED")
    if status == 401:
        return errors.ProviderAuthError(
            "Evolution GO refused the API key or instance token (401 not authorized)"
        )
    if status == 400:
        return errors.ValidationFailed(f"Evolution GO refused the request: {text}", code="PROVIDER_REJECTED")
    return errors.Unavailable(f"Evolution GO answered {status}: {text}", code="UPSTREAM_ERROR")

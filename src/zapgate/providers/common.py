"""What the HTTP provider adapters share: one pooled HTTP client (``providers.http``) made on
first use, the edge where every transport failure becomes one of our errors, lenient JSON
bodies, the error of a send through an unconfigured provider, the capabilities of the
unofficial (Evolution) providers, the forms of a Brazilian mobile number, and the pieces of
callback authentication they share."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson

from zapgate import errors
from zapgate.providers import http
from zapgate.providers.base import CallbackScope, Capabilities, Features, Registration

Translate = Callable[[http.TransportError], Exception]


class LazyClient:
    """An adapter's :class:`http.Client`: ``client()`` gives it, ``aclose()`` closes its
    connections (the next call opens new ones)."""

    def __init__(self, *, base_url: str, timeout: float, source_address: str | None = None) -> None:
        self._client = http.Client(base_url=base_url, timeout=timeout, source_address=source_address)

    def __call__(self) -> http.Client:
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()


@contextlib.contextmanager
def edge(translate: Translate) -> Iterator[None]:
    """Every transport failure (timeout, refused connection, protocol error) becomes
    ``translate(exc)``, raised from it."""
    try:
        yield
    except http.TransportError as exc:
        raise translate(exc) from exc


def json_body(response: http.Response, *, text_fallback: bool = False) -> Any:
    """The parsed body; when it is not JSON, None (or its text with ``text_fallback``)."""
    try:
        return response.json()
    except ValueError:
        return response.text if text_fallback else None


def send_not_configured(message: str) -> errors.ProviderTemporaryError:
    """A send through a provider with no URL or key yet: retried later, and the number's health
    says why."""
    return errors.ProviderTemporaryError(message, code="DELIVERY_TIMEOUT", health="PROVIDER_NOT_CONFIGURED")


def unofficial_features(*, label: str, callback_path: str, media_source: str) -> Features:
    """An Evolution kind: created here and paired by QR code, groups, number check, a callback
    URL per number under ``/webhooks/<callback_path>/``."""
    return Features(
        label=label,
        registration=Registration.CREATE,
        pairing=True,
        groups=True,
        number_check=True,
        callback_scope=CallbackScope.NUMBER,
        callback_path=callback_path,
        media_source=media_source,
    )


def unofficial_capabilities(
    *, pace_per_second: float, pace_jitter: float, base64_media: bool
) -> Capabilities:
    """An Evolution number: groups and newsletters, no template approval or 24 h window, one
    send at a time at a jittered pace."""
    return Capabilities(
        base64_media=base64_media,
        groups=True,
        newsletters=True,
        templates_need_approval=False,
        enforces_24h_window=False,
        mark_read_on_send=False,
        default_pace_per_second=pace_per_second,
        max_in_flight=1,
        pace_jitter=pace_jitter,
        modes=frozenset({"template", "text", "media", "list"}),
    )


def phone_variants(digits: str) -> frozenset[str]:
    """``digits`` and, for a Brazilian mobile (55, a 2-digit area code, 8 or 9 digits), the same
    number with its 9th digit removed or added: the forms WhatsApp may answer for one number."""
    variants = {digits}
    if digits.startswith("55") and len(digits) == 13 and digits[4] == "9":
        variants.add(digits[:4] + digits[5:])
    elif digits.startswith("55") and len(digits) == 12 and digits[4] in "6789":
        variants.add(digits[:4] + "9" + digits[4:])
    return frozenset(variants)


# -- callbacks ----------------------------------------------------------------------------------

REFUSED = "Callback authentication failed"


def refused(message: str = REFUSED) -> errors.Unauthorized:
    """The one answer to a callback that does not authenticate (401, nothing stored)."""
    return errors.Unauthorized(message, code="INVALID_SIGNATURE")


def callback_json(raw: bytes) -> Any:
    """A callback body as JSON, or 400 ``VALIDATION_ERROR``."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.ValidationFailed("Callback body must be JSON") from None


def same_secret(given: Any, expected: Any) -> bool:
    """Constant-time comparison of two non-empty strings."""
    return (
        isinstance(given, str)
        and isinstance(expected, str)
        and bool(expected)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


def one_of_secrets(given: Any, expected: Any) -> bool:
    """``given`` is one of the ``expected`` secrets (a tuple: a number's links each have their
    own), compared in constant time against every one."""
    found = False
    for secret in expected if isinstance(expected, tuple) else (expected,):
        found |= same_secret(given, secret)
    return found


def no_handshake(query: Mapping[str, str]) -> str:
    """Kinds without a GET subscription check."""
    raise errors.Forbidden("This provider has no subscription check", code="INVALID_VERIFY_TOKEN")

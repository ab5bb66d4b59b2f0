"""What the HTTP provider adapters share: one ``httpx.AsyncClient`` made on first use, the edge
where every httpx failure becomes one of our errors, lenient JSON bodies, the error of a send
through an unconfigured provider, and the capabilities of the unofficial (Evolution) providers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from zapgate import errors
from zapgate.providers.base import Capabilities

Translate = Callable[[httpx.HTTPError], Exception]


class LazyClient:
    """An adapter's ``httpx.AsyncClient``: ``client()`` makes it on first use, ``aclose()``
    closes it (the next call makes a new one)."""

    def __init__(self, *, base_url: str, timeout: float) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def __call__(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


@contextlib.contextmanager
def edge(translate: Translate) -> Iterator[None]:
    """Every httpx failure (timeout, refused connection, protocol error) becomes
    ``translate(exc)``, raised from it."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise translate(exc) from exc


def json_body(response: httpx.Response, *, text_fallback: bool = False) -> Any:
    """The parsed body; when it is not JSON, None (or its text with ``text_fallback``)."""
    try:
        return response.json()
    except ValueError:
        return response.text if text_fallback else None


def send_not_configured(message: str) -> errors.ProviderTemporaryError:
    """A send through a provider with no URL or key yet: retried later, and the number's health
    says why."""
    return errors.ProviderTemporaryError(message, code="DELIVERY_TIMEOUT",
                                         health="PROVIDER_NOT_CONFIGURED")


def unofficial_capabilities(*, pace_per_second: float, pace_jitter: float,
                            base64_media: bool) -> Capabilities:
    """An Evolution number: groups and newsletters, no template approval or 24 h window, one
    send at a time at a jittered pace."""
    return Capabilities(
        base64_media=base64_media, groups=True, newsletters=True, templates_need_approval=False,
        enforces_24h_window=False, mark_read_on_send=False,
        default_pace_per_second=pace_per_second, max_in_flight=1, pace_jitter=pace_jitter,
        modes=frozenset({"template", "text", "media", "list"}))

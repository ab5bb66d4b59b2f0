"""Receiving provider callbacks: authenticate, store the raw body, acknowledge.

One path for every provider kind: the kind's adapter says how its callbacks are authenticated
(``Provider.callback_keys`` / ``accept_callback``: Meta's app signature, Evolution's per-number
secret); this module only finds and caches the keys and stores what was accepted.

Nothing is applied here (that is the inbox worker's job, from the stored body), so a callback is
acknowledged in one small write, and a crash after the acknowledgement loses nothing. A callback
that fails authentication is refused with 401 and stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zapgate import errors
from zapgate.container import Container
from zapgate.providers.base import (
    AcceptedCallback,
    CallbackNumber,
    CallbackRequest,
    CallbackScope,
    Provider,
)
from zapgate.services import credentials
from zapgate.services.inbox import apply as inbox_apply
from zapgate.storage.database import Connection
from zapgate.storage.repositories.inbox import InboxRepository


async def _store(
    container: Container,
    *,
    provider: str,
    number_id: str | None,
    body: Any,
    routes: dict[str, Any] | None = None,
) -> None:
    now = container.clock.now_ms()
    row = inbox_apply.store_row(provider=provider, number_id=number_id, body=body, now_ms=now, routes=routes)
    # Group commit: the callbacks arriving together are stored in one transaction, and each
    # is acknowledged once that transaction is committed.
    await container.writers.callbacks.submit(row)
    container.wake.inbox.set()


async def write_batch(conn: Connection, rows: list[dict[str, Any]]) -> list[Exception | None]:
    await InboxRepository.store_callbacks(conn, rows)
    return [None] * len(rows)


def _provider(container: Container, path: str, scope: CallbackScope) -> Provider:
    provider = container.providers.by_callback_path(path)
    if provider is None or provider.features.callback_scope is not scope:
        raise errors.NotFound(f"No provider callbacks at /webhooks/{path}", code="NOT_FOUND")
    return provider


def handshake(container: Container, path: str, query: Mapping[str, str]) -> str:
    """The provider's GET subscription check (Meta: echo ``hub.challenge`` when
    ``hub.verify_token`` matches ``ZAPGATE_META_VERIFY_TOKEN``)."""
    provider = container.providers.by_callback_path(path)
    if provider is None:
        raise errors.NotFound(f"No provider callbacks at /webhooks/{path}", code="NOT_FOUND")
    return provider.callback_handshake(query)


async def receive_app_callback(container: Container, path: str, request: CallbackRequest) -> None:
    """A callback on the kind's one URL (Meta). Refused as a whole, storing nothing, unless the
    adapter accepts it with the current keys; a refusal with cached keys loads them afresh once
    (a number registered a moment ago, on this node or another, is not in them yet)."""
    provider = _provider(container, path, CallbackScope.APP)
    cache = container.callback_secrets
    now = container.clock.now_ms()
    found, keys = cache.app(provider.kind, now)
    if not found:
        keys = await _load_app_keys(container, provider)
    try:
        accepted = provider.accept_callback(request, keys)
    except errors.Unauthorized:
        if not found or not cache.may_reload(provider.kind, now):
            raise
        keys = await _load_app_keys(container, provider)
        accepted = provider.accept_callback(request, keys)
    await _store_accepted(container, provider, None, accepted)


async def receive_number_callback(
    container: Container, path: str, number_id: str, request: CallbackRequest
) -> None:
    """A callback on one number's URL (Evolution v2 / GO)."""
    provider = _provider(container, path, CallbackScope.NUMBER)
    keys = await _number_keys(container, provider, number_id)
    if keys is None:
        raise errors.Unauthorized("Callback authentication failed", code="INVALID_SIGNATURE")
    await _store_accepted(container, provider, number_id, provider.accept_callback(request, keys))


async def _store_accepted(
    container: Container, provider: Provider, number_id: str | None, accepted: AcceptedCallback
) -> None:
    await _store(
        container, provider=provider.kind, number_id=number_id, body=accepted.body, routes=accepted.routes
    )


async def _load_app_keys(container: Container, provider: Provider) -> object:
    """The adapter's keys for every live number of its kind, decrypted once."""
    numbers = await container.repos.inbox.callback_numbers(provider.kind)
    keys = provider.callback_keys(
        [
            CallbackNumber(
                id=number.id,
                route=number.route,
                credentials=credentials.open_credentials(container, number.credentials_enc),
            )
            for number in numbers
        ]
    )
    container.callback_secrets.put_app(provider.kind, keys, container.clock.now_ms())
    return keys


async def _number_keys(container: Container, provider: Provider, number_id: str) -> object | None:
    """A live number's keys, from the cache when it has them; None for no such number."""
    cache = container.callback_secrets
    now = container.clock.now_ms()
    found, keys = cache.number(provider.kind, number_id, now)
    if found:
        return keys
    number = await container.repos.inbox.callback_number(provider.kind, number_id)
    if number is None:
        return None  # not cached: a number created a moment later is found at once
    links = [
        CallbackNumber(
            number_id, number.route, credentials.open_credentials(container, number.credentials_enc)
        )
    ]
    if number.secondary_credentials_enc:  # a dual number: its second instance calls back too
        secondary = credentials.open_credentials(container, number.secondary_credentials_enc)
        links.append(CallbackNumber(number_id, number.route, secondary))
    keys = provider.callback_keys(links)
    cache.put_number(provider.kind, number_id, keys, now)
    return keys

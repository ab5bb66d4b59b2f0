"""Receiving provider callbacks: authenticate, store the raw body, acknowledge.

Nothing is applied here (that is the inbox worker's job, from the stored body), so a callback is
acknowledged in one small write, and a crash after the acknowledgement loses nothing. A callback
that fails authentication is refused with 401 and stores nothing.
"""

from __future__ import annotations

import hmac
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import callback_secrets, errors
from zapgate.container import Container
from zapgate.providers.meta import signature as meta_signature
from zapgate.services import callbacks, numberrefs
from zapgate.storage import tables as t
from zapgate.storage.batch import Batcher

_REFUSED = "Callback authentication failed"


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.ValidationFailed("Callback body must be JSON") from None


async def _store(
    container: Container,
    *,
    provider: str,
    number_id: str | None,
    body: Any,
    routes: dict[str, Any] | None = None,
) -> None:
    now = container.clock.now_ms()
    row = callbacks.store_row(provider=provider, number_id=number_id, body=body, now_ms=now, routes=routes)
    # Group commit: the callbacks arriving together are stored in one transaction, and each
    # is acknowledged once that transaction is committed.
    await _writer(container).submit(row)
    container.wake.inbox.set()


def _writer(container: Container) -> Batcher[dict[str, Any]]:
    writer = container.batchers.get("callbacks")
    if writer is None:
        writer = container.batchers["callbacks"] = Batcher(container.db, _write_batch, priority=True)
    return cast(Batcher[dict[str, Any]], writer)


async def _write_batch(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[Exception | None]:
    await conn.execute(sa.insert(t.provider_events), rows)
    return [None] * len(rows)


# -- Meta --------------------------------------------------------------------------------------


def meta_verify(container: Container, params: dict[str, str]) -> str:
    """Meta's GET handshake: echo ``hub.challenge`` when the verify token matches."""
    expected = container.settings.meta_verify_token.get_secret_value()
    given = params.get("hub.verify_token", "")
    if (
        params.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise errors.Forbidden("Verification token mismatch", code="INVALID_VERIFY_TOKEN")
    return params.get("hub.challenge", "")


async def meta_callback(container: Container, *, raw: bytes, signature: str | None) -> None:
    """A Meta callback is authenticated by exactly one app secret, checked on the raw bytes
    before anything is parsed; every change in it must then belong to a number of that app
    (its ``phone_number_id``, its WABA as the entry id). Otherwise the whole callback is refused
    and nothing is stored. The numbers it may touch are stored with it, and the inbox applies
    its events to those numbers only."""
    app = await _meta_app(container, raw, signature)
    if app is None:
        raise errors.Unauthorized("Invalid or missing X-Hub-Signature-256", code="INVALID_SIGNATURE")
    body = _json(raw)
    routes = _meta_routes(app, body)
    if routes is None and container.callback_secrets.may_reload_meta(container.clock.now_ms()):
        # A number registered a moment ago (on this node or another) is not in the cached
        # table yet: one fresh load, as for an unknown secret.
        app = await _meta_app(container, raw, signature, reload=True)
        routes = _meta_routes(app, body) if app is not None else None
    if routes is None:
        raise errors.Unauthorized(
            "The callback names a phone number or WhatsApp Business Account that its signing "
            "app does not serve",
            code="INVALID_SIGNATURE",
        )
    await _store(container, provider="meta", number_id=None, body=body, routes=routes)


async def _meta_app(
    container: Container, raw: bytes, signature: str | None, *, reload: bool = False
) -> callback_secrets.MetaApp | None:
    """The app whose secret signed ``raw`` (None: no known secret did)."""
    if not signature:
        return None
    cache = container.callback_secrets
    now = container.clock.now_ms()
    apps = None if reload else cache.meta_apps(now)
    fresh = apps is None
    if apps is None:
        apps = await _load_meta_apps(container)
        cache.put_meta(apps, now)
    app = _signing_app(apps, raw, signature)
    if app is None and not fresh and cache.may_reload_meta(now):
        # A number registered a moment ago (on this node or another) brings a new secret.
        apps = await _load_meta_apps(container)
        cache.put_meta(apps, now)
        app = _signing_app(apps, raw, signature)
    return app


def _signing_app(
    apps: tuple[callback_secrets.MetaApp, ...], raw: bytes, signature: str
) -> callback_secrets.MetaApp | None:
    found = None
    for app in apps:  # every secret is tried, so the time taken does not say which matched
        if meta_signature.verify([app.secret], raw, signature):
            found = app
    return found


async def _load_meta_apps(container: Container) -> tuple[callback_secrets.MetaApp, ...]:
    """Live Meta numbers grouped by the secret that signs their callbacks: their own
    ``appSecret``, or the operator's ``ZAPGATE_META_APP_SECRET`` for numbers without one."""
    default = container.settings.meta_app_secret.get_secret_value()
    n = t.numbers.c
    async with container.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(n.id, n.provider_ref, n.credentials_enc).where(
                    n.provider == "meta", n.deleted_at.is_(None)
                )
            )
        ).all()
    by_secret: dict[str, list[callback_secrets.MetaNumber]] = {}
    if default:
        by_secret[default] = []
    for row in rows:
        creds = numberrefs.open_credentials(container, row.credentials_enc)
        own = creds.get("appSecret")
        secret = own if isinstance(own, str) and own else default
        if secret and row.provider_ref:
            by_secret.setdefault(secret, []).append(
                callback_secrets.MetaNumber(
                    id=row.id, phone_number_id=row.provider_ref, waba_id=str(creds.get("wabaId") or "")
                )
            )
    return tuple(
        callback_secrets.MetaApp(secret=secret, numbers=tuple(numbers))
        for secret, numbers in by_secret.items()
    )


def _meta_routes(app: callback_secrets.MetaApp, body: Any) -> dict[str, Any] | None:
    """``{"phones": {phone_number_id: number id}, "wabas": {waba id: [number ids]}}`` for what
    the body names, or None when it names anything outside ``app``."""
    phones = {num.phone_number_id: num.id for num in app.numbers}
    wabas: dict[str, list[str]] = {}
    for num in app.numbers:
        if num.waba_id:
            wabas.setdefault(num.waba_id, []).append(num.id)
    routes: dict[str, Any] = {"phones": {}, "wabas": {}}
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        waba = _id(entry.get("id"))
        if waba is not None:
            if waba not in wabas:
                return None
            routes["wabas"][waba] = wabas[waba]
        changes = entry.get("changes")
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            metadata = value.get("metadata") if isinstance(value, dict) else None
            phone = _id(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
            if phone is not None:
                if phone not in phones:
                    return None
                routes["phones"][phone] = phones[phone]
    return routes


def _id(value: Any) -> str | None:
    """An id as Meta's parser reads it (strings and integers), None when absent."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value) if isinstance(value, (str, int)) else "?"


# -- Evolution v2 / GO -------------------------------------------------------------------------


async def _number_credentials(container: Container, provider: str, number_id: str) -> dict[str, Any] | None:
    """A live number's decrypted credentials, from the cache when it has them."""
    cache = container.callback_secrets
    now = container.clock.now_ms()
    found, creds = cache.number(f"{provider}:{number_id}", now)
    if found:
        return creds
    n = t.numbers.c
    async with container.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(n.credentials_enc).where(
                    n.id == number_id, n.provider == provider, n.deleted_at.is_(None)
                )
            )
        ).first()
    if row is None:
        return None  # not cached: a number created a moment later is found at once
    creds = numberrefs.open_credentials(container, row.credentials_enc)
    cache.put_number(f"{provider}:{number_id}", creds, now)
    return creds


def _same(given: Any, expected: Any) -> bool:
    return (
        isinstance(given, str)
        and isinstance(expected, str)
        and bool(expected)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


async def evolution_callback(container: Container, *, number_id: str, raw: bytes, secret: str | None) -> None:
    """Evolution v2 posts with the ``x-zapgate-secret`` header Zapgate set on the instance (or
    ``?secret=`` in the URL)."""
    creds = await _number_credentials(container, "evolution-v2", number_id)
    if creds is None or not _same(secret, creds.get("callbackSecret")):
        raise errors.Unauthorized(_REFUSED, code="INVALID_SIGNATURE")
    await _store(container, provider="evolution-v2", number_id=number_id, body=_json(raw))


async def evolution_go_callback(container: Container, *, number_id: str, raw: bytes) -> None:
    """Evolution GO carries the instance token in every body; Zapgate generated it."""
    creds = await _number_credentials(container, "evolution-go", number_id)
    if creds is None:
        raise errors.Unauthorized(_REFUSED, code="INVALID_SIGNATURE")
    body = _json(raw)
    given = body.get("instanceToken") if isinstance(body, dict) else None
    if not _same(given, creds.get("instanceToken")):
        raise errors.Unauthorized(_REFUSED, code="INVALID_SIGNATURE")
    await _store(container, provider="evolution-go", number_id=number_id, body=body)

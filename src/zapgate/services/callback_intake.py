"""Receiving provider callbacks: authenticate, store the raw body, acknowledge.

Nothing is applied here (that is the inbox worker's job, from the stored body), so a callback is
acknowledged in one small write, and a crash after the acknowledgement loses nothing. A callback
that fails authentication is refused with 401 and stores nothing.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
import sqlalchemy as sa

from zapgate import errors
from zapgate.container import Container
from zapgate.providers.meta import signature as meta_signature
from zapgate.services import callbacks, numberrefs
from zapgate.storage import tables as t

_REFUSED = "Callback authentication failed"


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.ValidationFailed("Callback body must be JSON") from None


async def _store(container: Container, *, provider: str, number_id: str | None,
                 body: Any) -> None:
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        await conn.execute(sa.insert(t.provider_events).values(
            callbacks.store_row(provider=provider, number_id=number_id, body=body,
                                now_ms=now)))
    container.wake.inbox.set()


# -- Meta --------------------------------------------------------------------------------------

def meta_verify(container: Container, params: dict[str, str]) -> str:
    """Meta's GET handshake: echo ``hub.challenge`` when the verify token matches."""
    expected = container.settings.meta_verify_token.get_secret_value()
    given = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not expected \
            or not hmac.compare_digest(given.encode(), expected.encode()):
        raise errors.Forbidden("Verification token mismatch", code="INVALID_VERIFY_TOKEN")
    return params.get("hub.challenge", "")


def _phone_number_ids(body: Any) -> set[str]:
    found: set[str] = set()
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            metadata = value.get("metadata") if isinstance(value, dict) else None
            if isinstance(metadata, dict) and metadata.get("phone_number_id"):
                found.add(str(metadata["phone_number_id"]))
    return found


async def _meta_secrets(container: Container, body: Any) -> list[str]:
    """The app-level secret plus the app secrets numbers brought with them."""
    found = [s for s in [container.settings.meta_app_secret.get_secret_value()] if s]
    routes = _phone_number_ids(body)
    if routes:
        n = t.numbers.c
        async with container.db.read() as conn:
            rows = (await conn.execute(sa.select(n.credentials_enc).where(
                n.provider == "meta", n.provider_ref.in_(routes),
                n.deleted_at.is_(None)))).all()
        for row in rows:
            secret = numberrefs.open_credentials(container, row.credentials_enc).get("appSecret")
            if isinstance(secret, str) and secret:
                found.append(secret)
    return found


async def meta_callback(container: Container, *, raw: bytes, signature: str | None) -> None:
    body = _json(raw)
    if not meta_signature.verify(await _meta_secrets(container, body), raw, signature):
        raise errors.Unauthorized("Invalid or missing X-Hub-Signature-256",
                                  code="INVALID_SIGNATURE")
    await _store(container, provider="meta", number_id=None, body=body)


# -- Evolution v2 / GO -------------------------------------------------------------------------

async def _number_credentials(container: Container, provider: str,
                              number_id: str) -> dict[str, Any] | None:
    n = t.numbers.c
    async with container.db.read() as conn:
        row = (await conn.execute(sa.select(n.credentials_enc).where(
            n.id == number_id, n.provider == provider, n.deleted_at.is_(None)))).first()
    return None if row is None else numberrefs.open_credentials(container, row.credentials_enc)


def _same(given: Any, expected: Any) -> bool:
    return isinstance(given, str) and isinstance(expected, str) and bool(expected) \
        and hmac.compare_digest(given.encode(), expected.encode())


async def evolution_callback(container: Container, *, number_id: str, raw: bytes,
                             secret: str | None) -> None:
    """Evolution v2 posts with the ``x-zapgate-secret`` header Zapgate set on the instance (or
    ``?secret=`` in the URL)."""
    creds = await _number_credentials(container, "evolution-v2", number_id)
    if creds is None or not _same(secret, creds.get("callbackSecret")):
        raise errors.Unauthorized(_REFUSED, code="INVALID_SIGNATURE")
    await _store(container, provider="evolution-v2", number_id=number_id, body=_json(raw))


async def evolution_go_callback(container: Container, *, number_id: str, raw: bytes) -> None:
    """Evolution GO carries the instance token in every body; Zapgate generated it."""
    body = _json(raw)
    creds = await _number_credentials(container, "evolution-go", number_id)
    given = body.get("instanceToken") if isinstance(body, dict) else None
    if creds is None or not _same(given, creds.get("instanceToken")):
        raise errors.Unauthorized(_REFUSED, code="INVALID_SIGNATURE")
    await _store(container, provider="evolution-go", number_id=number_id, body=body)

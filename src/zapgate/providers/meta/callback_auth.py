"""Authenticating Meta callbacks (pure).

Meta signs every callback of an app with that app's secret (``X-Hub-Signature-256`` over the raw
bytes), on one URL for all numbers. So the keys are a table of apps (secret -> the live numbers it
speaks for): a number's own ``appSecret``, or the operator's ``ZAPGATE_META_APP_SECRET`` for
numbers without one. A callback is authentic when exactly one app's secret signed it and every
change in it belongs to a number of that app (its ``phone_number_id``, its WABA as the entry id).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zapgate import errors
from zapgate.providers import common
from zapgate.providers.base import AcceptedCallback, CallbackNumber, CallbackRequest
from zapgate.providers.meta import signature


@dataclass(frozen=True)
class MetaNumber:
    id: str
    phone_number_id: str
    waba_id: str


@dataclass(frozen=True)
class MetaApp:
    """One Meta app secret and the live numbers whose callbacks it signs."""

    secret: str = field(repr=False)
    numbers: tuple[MetaNumber, ...]


def keys(numbers: Sequence[CallbackNumber], default_secret: str) -> tuple[MetaApp, ...]:
    """Live Meta numbers grouped by the secret that signs their callbacks."""
    by_secret: dict[str, list[MetaNumber]] = {}
    if default_secret:
        by_secret[default_secret] = []
    for number in numbers:
        own = number.credentials.get("appSecret")
        secret = own if isinstance(own, str) and own else default_secret
        if secret and number.route:
            by_secret.setdefault(secret, []).append(
                MetaNumber(
                    id=number.id,
                    phone_number_id=number.route,
                    waba_id=str(number.credentials.get("wabaId") or ""),
                )
            )
    return tuple(MetaApp(secret=secret, numbers=tuple(found)) for secret, found in by_secret.items())


def accept(request: CallbackRequest, apps: tuple[MetaApp, ...]) -> AcceptedCallback:
    """The callback with the numbers it may touch; ``errors.Unauthorized`` otherwise. The
    signature is checked on the raw bytes before anything is parsed."""
    header = request.headers.get("x-hub-signature-256")
    app = _signing_app(apps, request.raw, header) if header else None
    if app is None:
        raise common.refused("Invalid or missing X-Hub-Signature-256")
    body = common.callback_json(request.raw)
    routes = _routes(app, body)
    if routes is None:
        raise common.refused(
            "The callback names a phone number or WhatsApp Business Account that its signing "
            "app does not serve"
        )
    return AcceptedCallback(body=body, routes=routes)


def handshake(query: Mapping[str, str], verify_token: str) -> str:
    """Meta's GET handshake: echo ``hub.challenge`` when the verify token matches."""
    given = query.get("hub.verify_token", "")
    if (
        query.get("hub.mode") != "subscribe"
        or not verify_token
        or not hmac.compare_digest(given.encode(), verify_token.encode())
    ):
        raise errors.Forbidden("Verification token mismatch", code="INVALID_VERIFY_TOKEN")
    return query.get("hub.challenge", "")


def _signing_app(apps: tuple[MetaApp, ...], raw: bytes, header: str) -> MetaApp | None:
    found = None
    for app in apps:  # every secret is tried, so the time taken does not say which matched
        if signature.verify([app.secret], raw, header):
            found = app
    return found


def _routes(app: MetaApp, body: Any) -> dict[str, Any] | None:
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

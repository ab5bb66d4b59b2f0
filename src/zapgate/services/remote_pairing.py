"""Remote pairing (issue 12): ``POST /v1/numbers/remote-pairing`` creates a QR-paired number and
a time-limited, unguessable link to a public page where the phone's owner pairs it.

Tokens are looked up by their SHA-256 digest (like API keys). A link is marked used the first
time its number is seen connected (on any read of the link); the number's link state itself
moves through the usual paths (callbacks, live status checks)."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from zapgate import crypto, errors
from zapgate.container import Container
from zapgate.domain import urls
from zapgate.domain.remote_pairing import (
    MAX_EXTERNAL_REF,
    CreatedPairing,
    LinkState,
    PairingLink,
    PairingView,
    new_token,
    plausible_token,
)
from zapgate.providers.base import ProviderKind
from zapgate.services import numbers
from zapgate.storage.repositories.remote_pairing import RemotePairingRepository

NOT_FOUND = "REMOTE_PAIRING_NOT_FOUND"
EXPIRED = "REMOTE_PAIRING_EXPIRED"
USED = "REMOTE_PAIRING_USED"
NOT_SENT = (
    "Zapgate does not send the pairing link over WhatsApp: share remotePairingUrl with the "
    "phone's owner yourself"
)
_NUMBER_FIELDS = ("name", "number", "provider", "settings")


class LinkGone(errors.ZapgateError):
    """The link expired or its number is connected already (answered 410 by the route)."""


def _repo(container: Container) -> RemotePairingRepository:
    return container.repos.remote_pairing


def _extras(body: Any) -> tuple[str | None, str | None, bool, bool]:
    """``redirectUrl``, ``externalRef``, ``linkToApiKey``, ``sendViaWhatsApp``, checked."""
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    problems: list[dict[str, str]] = []
    for field in ("linkToApiKey", "sendViaWhatsApp"):
        if field in body and not isinstance(body[field], bool):
            problems.append({"field": field, "message": "must be a boolean"})
    redirect = body.get("redirectUrl")
    if redirect is not None:
        try:
            redirect = urls.check_target(redirect, allow_private=True, field="redirectUrl")
        except errors.ValidationFailed as exc:
            problems.extend(exc.extra.get("details") or [])
    ref = body.get("externalRef")
    if ref is not None and (not isinstance(ref, str) or not ref or len(ref) > MAX_EXTERNAL_REF):
        problems.append({"field": "externalRef", "message": f"a string of 1-{MAX_EXTERNAL_REF} characters"})
    if problems:
        raise errors.ValidationFailed("Invalid remote pairing request", details=problems)
    return redirect, ref, body.get("linkToApiKey") is True, body.get("sendViaWhatsApp") is True


async def create(container: Container, *, workspace_id: str, body: Any) -> CreatedPairing:
    """A number (Evolution v2 unless ``provider`` says otherwise) and its pairing link."""
    redirect_url, external_ref, link_key, send = _extras(body)
    number_body = {k: body[k] for k in _NUMBER_FIELDS if k in body}
    number_body.setdefault("provider", ProviderKind.EVOLUTION_V2.value)
    created = await numbers.create_number(container, workspace_id=workspace_id, body=number_body)
    now = container.clock.now_ms()
    token = new_token()
    link = PairingLink(
        digest=crypto.key_digest(token),
        number_id=created.number.id,
        workspace_id=workspace_id,
        redirect_url=redirect_url,
        external_ref=external_ref,
        created_at=now,
        expires_at=now + round(container.settings.remote_pairing_ttl_seconds * 1000),
        used_at=now if created.number.connected else None,
    )
    await _repo(container).insert(link)
    return CreatedPairing(
        created=created,
        link=link,
        token=token,
        link_to_api_key=link_key,
        message_error=NOT_SENT if send else None,
    )


async def _find(container: Container, token: str) -> PairingLink:
    unknown = errors.NotFound("Remote pairing link not found", code=NOT_FOUND)
    if not plausible_token(token):
        raise unknown
    digest = crypto.key_digest(token)
    link = await _repo(container).get(digest)
    if link is None or not crypto.digests_equal(link.digest, digest):
        raise unknown
    return link


async def view(container: Container, token: str, *, live: bool) -> PairingView:
    """The link and its number; ``live``: ask the provider for the link state first (a failure
    to ask leaves the last known state). Unknown tokens and deleted numbers are 404."""
    link = await _find(container, token)
    try:
        if live and link.state(container.clock.now_ms()) is LinkState.VALID:
            await _refresh(container, link)
        number = await numbers.get_row(container, link.workspace_id, link.number_id)
    except errors.NotFound:
        raise errors.NotFound("Remote pairing link not found", code=NOT_FOUND) from None
    now = container.clock.now_ms()
    if link.used_at is None and number.connected:
        await _repo(container).mark_used(link.digest, now_ms=now)
        link = dataclasses.replace(link, used_at=now)
    return PairingView(link=link, state=link.state(now), number=number)


async def _refresh(container: Container, link: PairingLink) -> None:
    # When the provider cannot be asked, the page shows the last known state.
    with contextlib.suppress(errors.Unavailable, errors.Conflict, errors.ValidationFailed):
        await numbers.link_status(container, workspace_id=link.workspace_id, number_id=link.number_id)


def expired_error() -> LinkGone:
    return LinkGone(
        "This remote pairing link has expired: ask for a new one",
        code=EXPIRED,
        valid=False,
        reason=LinkState.EXPIRED.value,
    )


def _used() -> LinkGone:
    return LinkGone(
        "The number of this link is connected already", code=USED, valid=False, reason=LinkState.USED.value
    )


async def status(container: Container, token: str) -> PairingView:
    """``GET /v1/remote-pairing/{token}/status``: a live reading; 410 once expired."""
    found = await view(container, token, live=True)
    if found.state is LinkState.EXPIRED:
        raise expired_error()
    return found


async def connect(container: Container, token: str) -> dict[str, Any]:
    """``POST /v1/remote-pairing/{token}/connect``: a fresh QR code and pairing code."""
    found = await view(container, token, live=False)
    if found.state is LinkState.EXPIRED:
        raise expired_error()
    if found.state is LinkState.USED:
        raise _used()
    link = found.link
    try:
        return await numbers.connect(container, workspace_id=link.workspace_id, number_id=link.number_id)
    except errors.Conflict as exc:
        if exc.code != "NUMBER_ALREADY_CONNECTED":
            raise
        await _repo(container).mark_used(link.digest, now_ms=container.clock.now_ms())
        raise _used() from None

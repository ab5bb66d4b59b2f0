"""Remote pairing (issue 12): ``POST /v1/numbers/remote-pairing`` creates a QR-paired number and
a time-limited, unguessable link to a public page where the phone's owner pairs it.

Tokens are looked up by their SHA-256 digest (like API keys). A link is marked used the first
time its number is seen connected (on any read of the link); the number's link state itself
moves through the usual paths (callbacks, live status checks)."""

from __future__ import annotations

import contextlib
import dataclasses

from zapgate import crypto, errors
from zapgate.container import Container
from zapgate.domain.number_commands import NewPairingLink
from zapgate.domain.numbers import PairingCodes
from zapgate.domain.remote_pairing import (
    CreatedPairing,
    LinkState,
    PairingLink,
    PairingView,
    new_token,
    plausible_token,
)
from zapgate.services import numbers
from zapgate.storage.repositories.remote_pairing import RemotePairingRepository

NOT_FOUND = "REMOTE_PAIRING_NOT_FOUND"
EXPIRED = "REMOTE_PAIRING_EXPIRED"
USED = "REMOTE_PAIRING_USED"
NOT_SENT = (
    "Zapgate does not send the pairing link over WhatsApp: share remotePairingUrl with the "
    "phone's owner yourself"
)


class LinkGone(errors.ZapgateError):
    """The link expired or its number is connected already (answered 410 by the route)."""


def _repo(container: Container) -> RemotePairingRepository:
    return container.repos.remote_pairing


async def create(container: Container, *, workspace_id: str, new: NewPairingLink) -> CreatedPairing:
    """A QR-paired number and its pairing link."""
    created = await numbers.create_number(container, workspace_id=workspace_id, add=new.number)
    now = container.clock.now_ms()
    token = new_token()
    link = PairingLink(
        digest=crypto.key_digest(token),
        number_id=created.number.id,
        workspace_id=workspace_id,
        redirect_url=new.redirect_url,
        external_ref=new.external_ref,
        created_at=now,
        expires_at=now + round(container.settings.remote_pairing_ttl_seconds * 1000),
        used_at=now if created.number.connected else None,
    )
    await _repo(container).insert(link)
    return CreatedPairing(
        created=created,
        link=link,
        token=token,
        link_to_api_key=new.link_to_api_key,
        message_error=NOT_SENT if new.send_via_whatsapp else None,
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


async def connect(container: Container, token: str) -> PairingCodes:
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

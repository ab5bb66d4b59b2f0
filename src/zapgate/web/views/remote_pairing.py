"""Remote pairing on the wire: the ``POST /v1/numbers/remote-pairing`` body as a
:class:`NewPairingLink`, its answer, and the public link's ``RemotePairingInfo`` /
``RemotePairingStatus``."""

from __future__ import annotations

from typing import Any

from zapgate.clock import iso
from zapgate.domain import number_commands
from zapgate.domain.number_commands import NewPairingLink
from zapgate.domain.remote_pairing import CreatedPairing, LinkState, PairingView, mask_number
from zapgate.providers.base import ProviderKind
from zapgate.web.views import numbers as number_views

# The provider of a number created with a pairing link when the body names none.
DEFAULT_PROVIDER = ProviderKind.EVOLUTION_V2.value


def new_link(body: Any) -> NewPairingLink:
    """A ``POST /v1/numbers/remote-pairing`` body: the link's fields are checked first, then
    the number's (``name``, ``number``, ``provider``, ``settings``)."""
    body = number_views.require_object(body)
    return number_commands.new_pairing_link(
        name=body.get("name"),
        number=body.get("number"),
        provider=str(body.get("provider", DEFAULT_PROVIDER)),
        settings=number_views.starting_settings(body),
        redirect_url=body.get("redirectUrl"),
        external_ref=body.get("externalRef"),
        link_to_api_key=body.get("linkToApiKey", False),
        send_via_whatsapp=body.get("sendViaWhatsApp", False),
    )


def page_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/v1/remote-pairing/{token}"


def created(found: CreatedPairing, *, public_url: str) -> dict[str, Any]:
    """``RemotePairingResult`` and the reference's fields; the token is shown this once."""
    number, key = found.created.number, found.created.key
    out: dict[str, Any] = {
        "instance": number_views.instance(number),
        "linkedApiKeyId": key.id if found.link_to_api_key else None,
        "remotePairingToken": found.token,
        "remotePairingUrl": page_url(public_url, found.token),
        "numberId": number.id,
        "provider": number.provider,
        "maskedNumber": mask_number(number.number),
        "messageSent": False,
        "expiresAt": iso(found.link.expires_at),
        "redirectUrl": found.link.redirect_url,
        "externalRef": found.link.external_ref,
        # Additive, as for POST /v1/numbers: the number's key, shown this once.
        "apiKey": {"keyId": key.id, "key": key.raw, "keyPrefix": key.prefix, "keyLast4": key.last4},
    }
    if found.message_error:
        out["messageError"] = found.message_error
    return out


def status(found: PairingView) -> dict[str, Any]:
    number = found.number
    return {
        "state": number.state,
        "primaryLink": number_views.link(number),
        "secondaryLink": number_views.secondary_link(number),
        "isFullyConnected": number.connected,
    }


def info(found: PairingView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "valid": found.state is LinkState.VALID,
        "name": found.number.name,
        "maskedNumber": mask_number(found.number.number),
        **status(found),
        "expiresAt": iso(found.link.expires_at),
    }
    if found.state is not LinkState.VALID:
        out["reason"] = found.state.value
    return out

"""Numbers on the wire: request bodies as the commands of :mod:`zapgate.domain.number_commands`
(``400`` with the same codes and messages as ever), and the records as the API's JSON: the
``GET /v1/numbers`` list items, ``GET /v1/numbers/{id}`` (also the ``PATCH`` answer), the
answers of creating, linking, deleting and restoring a number."""

from __future__ import annotations

from typing import Any

from zapgate import errors
from zapgate.clock import iso
from zapgate.domain import number_commands
from zapgate.domain.number_commands import KEEP, AddMetaNumber, AddNumber, NumberPatch
from zapgate.domain.numbers import (
    CreatedNumber,
    DeletedNumber,
    LinkReading,
    ListedNumber,
    Number,
    PairingCodes,
    Restored,
)
from zapgate.providers.base import ProviderKind
from zapgate.web.views import webhooks as webhook_views

PATCHABLE = ("pacePerSecond", "piiMode", "piiRetentionDays", "settings")


# --- requests ------------------------------------------------------------------------------------


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    return body


def starting_settings(body: dict[str, Any]) -> dict[str, Any] | None:
    """``settings`` of a new number: an object, or ignored."""
    settings = body.get("settings")
    return settings if isinstance(settings, dict) else None


def new_number(body: Any) -> AddNumber:
    """A ``POST /v1/numbers`` body (``provider``: the sandbox when not given)."""
    body = require_object(body)
    return number_commands.add_number(
        name=body.get("name"),
        number=body.get("number"),
        provider=str(body.get("provider", ProviderKind.SANDBOX)),
        official=body.get("official", False),
        settings=starting_settings(body),
    )


def new_meta_number(body: Any) -> AddMetaNumber:
    """A ``POST /v1/numbers/meta`` body."""
    body = require_object(body)
    return number_commands.add_meta_number(
        name=body.get("name"),
        number=body.get("number"),
        phone_number_id=body.get("phoneNumberId"),
        waba_id=body.get("wabaId"),
        access_token=body.get("accessToken"),
        app_secret=body.get("appSecret"),
    )


def patch(body: Any) -> NumberPatch:
    """A ``PATCH /v1/numbers/{id}`` body; anything but a non-empty object is an empty patch
    (refused as ``EMPTY_PATCH`` once the number is found)."""
    if not isinstance(body, dict) or not body:
        return NumberPatch()
    return number_commands.number_patch(
        pace_per_second=body.get("pacePerSecond", KEEP),
        settings=body.get("settings", KEEP),
        pii_mode=body.get("piiMode", KEEP),
        pii_retention_days=body.get("piiRetentionDays", KEEP),
        problems=[{"field": k, "message": "unknown field"} for k in body if k not in PATCHABLE],
    )


# --- records -------------------------------------------------------------------------------------


def link(number: Number) -> dict[str, Any]:
    return {"state": number.state, "connectedAt": iso(number.connected_at)}


def secondary_link(number: Number) -> dict[str, Any] | None:
    """A dual number's second linked device; None for a number with one link."""
    if not number.dual:
        return None
    return {"state": number.secondary_state or "CLOSE", "connectedAt": iso(number.secondary_connected_at)}


def instance(number: Number) -> dict[str, Any]:
    return {
        "id": number.id,
        "tenantId": number.workspace_id,
        "instanceName": number.id,
        "number": number.number,
        "displayName": number.name,
        "name": number.name,
        "state": number.state,
        "integration": number.provider,
        "status": number.state,
        "quality": "GOOD",
        "createdAt": iso(number.created_at),
        "updatedAt": iso(number.updated_at),
        "primaryLink": link(number),
        "secondaryLink": secondary_link(number),
        "isFullyConnected": number.connected,
    }


def meta(number: Number) -> dict[str, Any]:
    """What is shown of a Meta number's registration (never its credentials)."""
    return {"phoneNumberId": number.provider_ref, "verifiedName": number.profile_name}


def created(found: CreatedNumber, *, cloud_api: bool) -> dict[str, Any]:
    """``POST /v1/numbers`` and ``/v1/numbers/meta``: the number, how to link the phone, and
    (additive) its default key, shown this once."""
    number, key = found.number, found.key
    pairing = {"qrcodeBase64": found.qrcode_base64, "pairingCode": found.pairing_code}
    out: dict[str, Any] = {
        "instance": instance(number),
        **pairing,
        "linkedApiKeyId": None,
        "primaryLink": pairing,
        "secondaryLink": None,
    }
    if cloud_api:
        out["meta"] = {
            **meta(number),
            "displayPhoneNumber": found.display_phone_number,
            "qualityRating": found.quality_rating,
        }
    out["apiKey"] = {"keyId": key.id, "key": key.raw, "keyPrefix": key.prefix, "keyLast4": key.last4}
    if found.webhook is not None:
        out["webhook"] = webhook_views.created(found.webhook)
    return out


def list_item(listed: ListedNumber) -> dict[str, Any]:
    number = listed.number
    return {
        "id": number.id,
        "instanceName": number.id,
        "number": number.number,
        "name": number.name,
        "createdAt": iso(number.created_at),
        "updatedAt": iso(number.updated_at),
        "apiKeys": [
            {"name": ref.name, "keyPrefix": ref.prefix, "keyLast4": ref.last4} for ref in listed.key_refs
        ],
        "primaryLink": link(number),
        "secondaryLink": secondary_link(number),
        "isFullyConnected": number.connected,
        "extraChargeUnpaidSince": None,
        "extraChargeDisconnectAt": None,
        # Additive fields.
        "provider": number.provider,
        "official": number.official,
    }


def detail(number: Number, *, cloud_api: bool) -> dict[str, Any]:
    """``GET /v1/numbers/{id}``; ``cloud_api``: the number's provider is a Cloud API one (its
    ``meta`` block is shown)."""
    settings = number.effective_settings
    settings["appliesTo"] = {
        "history": "all",
        "advanced": "none",
        "sending": "meta" if number.official else "none",
    }
    return {
        "id": number.id,
        "number": number.number,
        "name": number.name,
        "provider": number.provider,
        "official": number.official,
        "state": number.state,
        "isFullyConnected": number.connected,
        "primaryLink": link(number),
        "secondaryLink": secondary_link(number),
        "piiMode": number.pii_mode,
        "piiRetentionDays": number.pii_retention_days,
        "settings": settings,
        "createdAt": iso(number.created_at),
        "updatedAt": iso(number.updated_at),
        "health": {
            "qualityRating": None,
            "messagingLimitTier": None,
            "portfolioMessagingLimitTier": None,
            "metaStatus": None,
            "code": number.health,
            "reason": number.health_reason,
            "sendable": number.sendable,
        },
        "meta": meta(number) if cloud_api else None,
        "coexistence": None,
        "profileName": number.profile_name,
        "extraChargeUnpaidSince": None,
        "extraChargeDisconnectAt": None,
        "pacePerSecond": number.pace_per_second,
    }


def pairing_codes(found: PairingCodes) -> dict[str, Any]:
    """``GET /v1/numbers/{id}/connect`` (and the remote pairing link's ``connect``)."""
    return {"qrcodeBase64": found.qrcode_base64, "pairingCode": found.pairing_code}


def upgraded_to_dual(found: PairingCodes) -> dict[str, Any]:
    """``POST /v1/numbers/{id}/upgrade-to-dual``: how to link the second device."""
    return {"secondaryLink": pairing_codes(found)}


def link_reading(found: LinkReading) -> dict[str, Any]:
    """``GET /v1/numbers/{id}/status``: ``lastKnownAt`` when stale, ``checkedAt`` when live."""
    return {
        "id": found.number_id,
        "state": found.state,
        "isFullyConnected": found.fully_connected,
        "stale": found.stale,
        ("lastKnownAt" if found.stale else "checkedAt"): iso(found.read_at),
    }


def deleted(found: DeletedNumber) -> dict[str, Any]:
    return {"ok": True, "restorableUntil": iso(found.restorable_until)}


def restored(found: Restored) -> dict[str, Any]:
    return {"ok": True, "requiresReconnect": found.requires_reconnect}

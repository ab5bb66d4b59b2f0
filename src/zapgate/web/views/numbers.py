"""Numbers on the wire: the ``GET /v1/numbers`` list items and ``GET /v1/numbers/{id}``
(also the ``PATCH`` answer), from :class:`Number` records."""

from __future__ import annotations

from typing import Any

from zapgate.clock import iso
from zapgate.domain.numbers import CreatedNumber, ListedNumber, Number


def link(number: Number) -> dict[str, Any]:
    return {"state": number.state, "connectedAt": iso(number.connected_at)}


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
        "secondaryLink": None,
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
        "secondaryLink": None,
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

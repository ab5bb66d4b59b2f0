"""API keys on the wire: ``ApiKeyListItem``, ``NumberApiKeyReveal`` and a rotated key."""

from __future__ import annotations

from typing import Any

from zapgate.clock import iso
from zapgate.domain.keys import IssuedKey, NumberKey


def list_item(found: NumberKey) -> dict[str, Any]:
    """``ApiKeyListItem``: a number key, masked."""
    key = found.key
    return {
        "id": key.id,
        "name": key.name,
        "keyPrefix": key.prefix,
        "keyLast4": key.last4,
        "lastUsedAt": iso(key.last_used_at),
        "createdAt": iso(key.created_at),
        "webhookId": None,
        "projectId": None,
        "webhook": None,
        "whatsappInstanceId": found.number_id,
        "whatsappInstance": {
            "id": found.number_id,
            "instanceName": found.number_id,
            "displayName": found.number_name,
            "number": found.number,
            "state": found.number_state,
        },
        "retentionDays": key.retention_days,
    }


def reveal_row(found: NumberKey) -> dict[str, Any]:
    """``NumberApiKeyReveal``: raw keys are not stored, so never revealable."""
    return {
        "numberId": found.number_id,
        "number": found.number,
        "displayName": found.number_name,
        "keyId": found.key.id,
        "keyLast4": found.key.last4,
        "key": None,
        "revealable": False,
    }


def rotated(number_id: str, key: IssuedKey) -> dict[str, Any]:
    return {
        "numberId": number_id,
        "keyId": key.id,
        "keyPrefix": key.prefix,
        "keyLast4": key.last4,
        "key": key.raw,
        "createdAt": iso(key.created_at),
    }


def regenerated(scope: str, number_id: str | None, key: IssuedKey) -> dict[str, Any]:
    """``POST /v1/api-keys/regenerate``: the caller's new key, shown once."""
    return {
        "id": key.id,
        "name": "Default",
        "key": key.raw,
        "keyPrefix": key.prefix,
        "keyLast4": key.last4,
        "scope": scope,
        "whatsappNumberId": number_id,
        "createdAt": iso(key.created_at),
    }

"""Customer webhooks on the wire: request bodies as :class:`NewEndpoint` / :class:`EndpointPatch`
(``400`` with the same codes and messages as ever), and the records as the API's JSON (the
schemas are in ``web.api.v1.webhooks``). A secret is in a response only after create and
rotate-secret."""

from __future__ import annotations

from typing import Any

import orjson

from zapgate import errors
from zapgate.clock import iso
from zapgate.domain import urls
from zapgate.domain.webhooks import (
    MAX_NAME_LENGTH,
    PATCHABLE,
    CreatedEndpoint,
    Endpoint,
    EndpointPatch,
    LogEntry,
    NewEndpoint,
    Queued,
    RotatedSecret,
)
from zapgate.services.auth import Principal
from zapgate.settings import Settings
from zapgate.webhooks import payloads

_SUBSCRIBABLE = frozenset(payloads.SUBSCRIBABLE_EVENTS)
_WILDCARD_ONLY = frozenset(payloads.WILDCARD_ONLY_EVENTS)


# --- requests ------------------------------------------------------------------------------------


def new_endpoint(
    body: Any, *, principal: Principal, header_number_id: str | None, settings: Settings
) -> NewEndpoint:
    """A registration body (``POST /v1/webhooks``), checked in this order: object, number, url,
    name, events."""
    body = _require_object(body)
    number_id = _requested_number(principal, body, header_number_id)
    url = _check_url(settings, body.get("url"))
    name = _parse_name(body["name"]) if body.get("name") is not None else None
    events = parse_events(body.get("events", []))
    return NewEndpoint(number_id=number_id, url=url, name=name, events=events)


def endpoint_of_new_number(body: dict[str, Any], *, settings: Settings) -> NewEndpoint | None:
    """The optional ``webhook`` of a number-create body (``{url, name?, events?}``): an endpoint
    made with the number, so that it gets the number's ``number.created``. Its ``number_id`` is
    set once the number has one."""
    if body.get("webhook") is None:
        return None
    webhook = body["webhook"]
    if not isinstance(webhook, dict):
        raise errors.ValidationFailed(
            "Invalid webhook",
            details=[{"field": "webhook", "message": "must be an object {url, name?, events?}"}],
        )
    url = _check_url(settings, webhook.get("url"))
    name = _parse_name(webhook["name"]) if webhook.get("name") is not None else None
    return NewEndpoint(number_id="", url=url, name=name, events=parse_events(webhook.get("events", [])))


def patch(body: Any, *, settings: Settings) -> EndpointPatch:
    """A ``PATCH`` body: at least one of name, url, active, events (``EMPTY_PATCH`` otherwise)."""
    body = _require_object(body)
    if not any(f in body for f in PATCHABLE):
        raise errors.ValidationFailed(
            "Nothing to update: send at least one of name, url, active, events", code="EMPTY_PATCH"
        )
    return EndpointPatch(
        name=_parse_name(body["name"]) if "name" in body else None,
        url=_check_url(settings, body["url"]) if "url" in body else None,
        active=_parse_active(body["active"]) if "active" in body else None,
        events=parse_events(body["events"]) if "events" in body else None,
    )


def parse_events(value: Any) -> tuple[str, ...]:
    """``"*"`` or a list of event names -> the stored list (``("*",)`` for everything).

    Unknown names are refused rather than ignored: a typo would otherwise silently deliver
    nothing. Health events arrive only with ``"*"`` (pilot-status-api.md §3.3).
    """
    if value == "*":
        return ("*",)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.ValidationFailed(
            'events must be "*" or a list of event names',
            details=[{"field": "events", "message": 'expected "*" or an array of strings'}],
        )
    if "*" in value:
        return ("*",)
    problems = [_event_problem(i, name) for i, name in enumerate(value)]
    found = [p for p in problems if p is not None]
    if found:
        raise errors.ValidationFailed("Unknown or unsubscribable events", details=found)
    return tuple(dict.fromkeys(value))  # de-duplicated, first-seen order


def _event_problem(index: int, name: str) -> dict[str, str] | None:
    if name in _SUBSCRIBABLE:
        return None
    if name in _WILDCARD_ONLY:
        return {
            "field": f"events[{index}]",
            "message": f'{name} is delivered only to endpoints subscribed to "*"',
        }
    return {"field": f"events[{index}]", "message": f"unknown event {name!r}"}


def _parse_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_LENGTH:
        raise errors.ValidationFailed(
            "Invalid name", details=[{"field": "name", "message": f"1-{MAX_NAME_LENGTH} characters"}]
        )
    return value.strip()


def _parse_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationFailed(
            "Invalid active", details=[{"field": "active", "message": "must be a boolean"}]
        )
    return value


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    return body


def _check_url(settings: Settings, raw: object) -> str:
    return urls.check_target(
        raw, allow_private=settings.allow_private_urls, allow_loopback=settings.allow_loopback_urls
    )


def _requested_number(principal: Principal, body: dict[str, Any], header_number_id: str | None) -> str:
    """The number a new endpoint belongs to (pilot-status-api.md §3.1)."""
    from_body = body.get("whatsappNumberId")
    if from_body is not None and (not isinstance(from_body, str) or not from_body):
        raise errors.ValidationFailed(
            "Invalid whatsappNumberId",
            details=[{"field": "whatsappNumberId", "message": "must be a non-empty string"}],
        )
    if principal.scope == "number" and principal.number_id:
        if from_body is not None and from_body != principal.number_id:
            raise errors.ValidationFailed(
                "whatsappNumberId does not match the number of this API key", code="NUMBER_MISMATCH"
            )
        return principal.number_id
    if from_body and header_number_id and from_body != header_number_id:
        raise errors.ValidationFailed(
            "whatsappNumberId and the x-whatsapp-number-id header name different numbers",
            code="NUMBER_MISMATCH",
        )
    chosen = from_body or header_number_id
    if not chosen:
        raise errors.ValidationFailed(
            "whatsappNumberId (or the x-whatsapp-number-id header) is required with a workspace API key",
            code="NUMBER_REQUIRED",
        )
    return chosen


# --- responses -----------------------------------------------------------------------------------


def webhook(endpoint: Endpoint) -> dict[str, Any]:
    """The webhook object (pilot-status-api.md §3.1); ``disabledReason`` is additive."""
    return {
        "id": endpoint.id,
        "tenantId": endpoint.workspace_id,
        "name": endpoint.name,
        "url": endpoint.url,
        "environment": "LIVE",
        "active": endpoint.active,
        "events": list(endpoint.events),
        "apiKeys": [{"id": k.id, "name": k.name} for k in endpoint.api_keys],
        "lastTriggered": iso(endpoint.last_triggered_at),
        "whatsappNumberIds": [endpoint.number_id],
        "whatsappInstanceIds": [],
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
        "disabledReason": endpoint.disabled_reason,
    }


def created(found: CreatedEndpoint) -> dict[str, Any]:
    """The new webhook with its secret: the only time it is shown (with rotate-secret)."""
    return {**webhook(found.endpoint), "secret": found.secret}


def rotated(found: RotatedSecret) -> dict[str, Any]:
    return {
        **webhook(found.endpoint),
        "secret": found.secret,
        "previousSecretExpiresAt": iso(found.previous_secret_until),
    }


def deleted(webhook_id: str) -> dict[str, Any]:
    return {"id": webhook_id, "deleted": True}


def log_item(entry: LogEntry) -> dict[str, Any]:
    delivery = entry.delivery
    item = {
        # Stable across the PENDING -> attempted transition of the same attempt.
        "id": f"{delivery.delivery_id}:{entry.attempt}",
        "deliveryId": delivery.delivery_id,
        "eventId": delivery.event_id,
        "event": delivery.event,
        "status": entry.status,
        "statusCode": entry.status_code,
        "payload": orjson.loads(delivery.body),
        "response": entry.response,
        "durationMs": entry.duration_ms,
        "attempt": entry.attempt,
        "error": entry.error,
        "createdAt": iso(entry.created_at),
    }
    if entry.status == "PENDING":
        item["nextAttemptAt"] = iso(entry.next_attempt_at)
    return item


def queued(found: Queued) -> dict[str, Any]:
    if found.redelivery_of is None:
        return {
            "deliveryId": found.delivery_id,
            "eventId": found.event_id,
            "event": found.event,
            "status": "PENDING",
        }
    return {
        "deliveryId": found.delivery_id,
        "redeliveryOf": found.redelivery_of,
        "eventId": found.event_id,
        "event": found.event,
        "status": "PENDING",
    }

"""Accepting a send: validate, apply plan and number rules, then one transaction writes the
message (QUEUED) and, with an Idempotency-Key, the stored response. The dispatcher does the rest."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from typing import Any

import orjson

from zapgate import errors
from zapgate.clock import month_start_ms
from zapgate.container import Container
from zapgate.domain import ids, sendrequest, templates, windows
from zapgate.domain.messages import Accepted, HeldKey, SendingNumber
from zapgate.domain.messages import PendingSend as PendingSend
from zapgate.domain.messages import Reservation as Reservation
from zapgate.domain.sendrequest import SendRequest
from zapgate.domain.templates import Template
from zapgate.providers.base import Capabilities
from zapgate.storage.database import Connection, is_unavailable
from zapgate.storage.repositories import messages as message_rows

MAX_IDEMPOTENCY_KEY = 255
RELEASE_RETRY_SECONDS = 0.5
_log = logging.getLogger("zapgate.sending")


async def accept(
    container: Container,
    *,
    workspace_id: str,
    number_id: str,
    body: Any,
    idempotency_key: str | None,
    origin: str = "API",
) -> Accepted:
    now = container.clock.now_ms()
    reservation = None
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
        reservation = Reservation(workspace_id, number_id, idempotency_key, request_hash(body))
        replay = await reserve(container, reservation)
        if replay is not None:
            return replay
    try:
        request = sendrequest.parse(body, now_ms=now)
        number = await _number(container, workspace_id, number_id)
        values = await _prepare(container, request, number, now)
        outcome = await _store(container, values, number, request, reservation, origin, body)
    except Exception:
        # Only a refused or failed write is forgotten; a cancelled caller's message may still
        # be committed, and then the key must keep pointing at it (its lock expires otherwise).
        if reservation is not None:
            await _release_now_or_later(container, reservation)
        raise
    container.metrics.accepted(request.mode).inc()
    container.wake.dispatch.set()
    return outcome


# -- idempotency -----------------------------------------------------------------------------


def check_idempotency_key(key: str) -> None:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise errors.ValidationFailed(
            "Idempotency-Key must be 1-255 characters without control characters",
            code="IDEMPOTENCY_KEY_INVALID",
        )


def request_hash(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def reserve(container: Container, r: Reservation) -> Accepted | None:
    """Claim the key for this request, or return the stored response to replay.

    Raises 409 ``IDEMPOTENCY_KEY_IN_USE`` while another request holds it and 409
    ``IDEMPOTENCY_KEY_REUSED`` when it was used with another body.
    """
    s = container.settings
    held = await container.repos.messages.claim_key(
        r,
        now_ms=container.clock.now_ms(),
        lock_ms=int(s.idempotency_lock_seconds * 1000),
        ttl_ms=int(s.idempotency_ttl_seconds * 1000),
    )
    if held is None:
        return None
    if held.state == "DONE":
        return _replay(held, r)
    raise errors.Conflict(
        "A request with this Idempotency-Key is still running", code="IDEMPOTENCY_KEY_IN_USE"
    )


def _replay(held: HeldKey, r: Reservation) -> Accepted:
    if held.request_hash != r.request_hash:
        raise errors.Conflict(
            "This Idempotency-Key was already used with a different body", code="IDEMPOTENCY_KEY_REUSED"
        )
    assert held.accepted is not None  # a DONE record keeps what it accepted
    return held.accepted


# Releases waiting for the database to come back (a strong reference keeps each task alive).
_LATER: set[asyncio.Task[None]] = set()


async def _release_now_or_later(container: Container, r: Reservation) -> None:
    """Free the key of a request that failed. When the database is unavailable (the usual
    reason the request failed), keep trying in the background until it is back or the key's
    lock has run out anyway, so a client's retry is not refused with ``IDEMPOTENCY_KEY_IN_USE``
    for the rest of the lock."""
    try:
        await release(container, r)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        deadline = time.monotonic() + container.settings.idempotency_lock_seconds
        task = asyncio.create_task(_release_later(container, r, deadline))
        _LATER.add(task)
        task.add_done_callback(_LATER.discard)
        raise


async def _release_later(container: Container, r: Reservation, deadline: float) -> None:
    while time.monotonic() < deadline:
        await asyncio.sleep(RELEASE_RETRY_SECONDS)
        try:
            await release(container, r)
            return
        except Exception as exc:
            if not is_unavailable(exc):
                _log.exception("could not free an Idempotency-Key after a failed send")
                return


async def release(container: Container, r: Reservation) -> None:
    """Forget an unfinished reservation so the client may retry with the same key."""
    await container.repos.messages.release_key(r)


# -- rules that need the number --------------------------------------------------------------


async def _number(container: Container, workspace_id: str, number_id: str) -> SendingNumber:
    lookup = f"{workspace_id}/{number_id}"
    hit, number = container.number_cache.get(lookup)
    if not hit:
        number = await container.repos.messages.sending_number(workspace_id, number_id)
        container.number_cache.put(lookup, number)
    if number is None:
        raise errors.NotFound("The key's number no longer exists", code="LINKED_WHATSAPP_INSTANCE_NOT_FOUND")
    return number  # type: ignore[no-any-return]  # the cache holds Any


def _capabilities(container: Container, number: SendingNumber) -> Capabilities:
    return container.providers.get(number.provider).capabilities(official=number.official)


async def _prepare(
    container: Container, request: SendRequest, number: SendingNumber, now: int
) -> dict[str, Any]:
    caps = _capabilities(container, number)
    _check_capabilities(request, caps)
    rendered_template = None
    template_row = None
    if request.mode == "template":
        template_row = await _template(container, number.id, request.template_ref or "")
        _check_template_sendable(template_row, caps, now)
        rendered_template = templates.render(template_row.content, request.variables)
    if request.mode == "flow" and caps.enforces_24h_window:
        await _require_open_window(container, number.id, request.destination, now)
    if _uses_media(request, rendered_template) and number.plan != "PAID":
        raise errors.PaymentRequired(
            "Media messages need a paid plan", code="SUBSCRIPTION_REQUIRED_FOR_MEDIA"
        )
    return _message_values(request, template_row, rendered_template)


def _check_capabilities(request: SendRequest, caps: Capabilities) -> None:
    if request.mode not in caps.modes:
        raise errors.ValidationFailed(
            f"{request.mode} messages are not supported by this number's provider "
            f"(supported: {', '.join(sorted(caps.modes))})",
            code="MODE_NOT_SUPPORTED",
            details=[{"field": request.mode, "message": "not supported by the provider"}],
        )
    if request.destination_kind == "group" and not caps.groups:
        raise errors.ValidationFailed(
            "Groups are not supported on official (Meta) numbers", code="NOT_SUPPORTED_FOR_META"
        )
    if request.destination_kind == "newsletter" and not caps.newsletters:
        raise errors.ValidationFailed(
            "Channels are not supported on official (Meta) numbers", code="NOT_SUPPORTED_FOR_META"
        )
    if request.is_base64_media and not caps.base64_media:
        raise errors.ValidationFailed(
            "This provider needs media as an http(s) URL", code="MEDIA_BASE64_NOT_SUPPORTED"
        )


async def _template(container: Container, number_id: str, ref: str) -> Template:
    lookup = f"{number_id}/{ref}"
    hit, template = container.template_cache.get(lookup)
    if not hit:
        template = await container.repos.templates.lookup(number_id, ref)
        if template is not None:  # a template not found yet may be created at any moment
            container.template_cache.put(lookup, template)
    if template is None:
        raise errors.NotFound(f"Template {ref!r} not found for this number", code="TEMPLATE_NOT_FOUND")
    return template  # type: ignore[no-any-return]  # the cache holds Any


def effective_template_status(row: Template, now: int) -> str | None:
    """Sandbox approval happens at ``approve_at``; until the sweeper records it, read it here."""
    if row.meta_status == "PENDING" and row.approve_at is not None and row.approve_at <= now:
        return "APPROVED"
    return str(row.meta_status) if row.meta_status is not None else None


def _check_template_sendable(row: Template, caps: Capabilities, now: int) -> None:
    if caps.templates_need_approval and effective_template_status(row, now) != "APPROVED":
        raise errors.Conflict(
            f"Template {row.name!r} is not approved yet (status "
            f"{effective_template_status(row, now) or 'NONE'})",
            code="TEMPLATE_NOT_APPROVED",
        )


async def _require_open_window(container: Container, number_id: str, contact: str, now: int) -> None:
    last = await container.repos.messages.last_inbound_at(number_id, contact)
    if not windows.is_open(last, now):
        raise errors.ValidationFailed(
            "Flows need an open 24 h window: the contact must have written in the last 24 h",
            code="FLOW_WINDOW_CLOSED",
        )


def _uses_media(request: SendRequest, rendered: templates.Rendered | None) -> bool:
    if request.has_media or request.carousel is not None:
        return True
    if request.header is not None and request.header["type"] != "text":
        return True
    return bool(rendered and rendered.header and rendered.header.get("type") not in (None, "TEXT"))


def _message_values(
    request: SendRequest, template_row: Template | None, rendered: templates.Rendered | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"mode": request.mode}
    content: str | None = request.text
    message_type = "text"
    if rendered is not None and template_row is not None:
        payload["template"] = {
            "id": template_row.id,
            "name": template_row.name,
            "language": template_row.language,
            "category": template_row.category,
            "parameters": rendered.parameters,
            "body": rendered.body,
            "header": rendered.header,
            "footer": rendered.footer,
            "buttons": rendered.buttons,
            # Where each named variable goes, for providers that fill templates themselves
            # (Meta named parameters per component).
            "placement": templates.placement(template_row.content),
        }
        content = rendered.body
    for key, value in (
        ("text", request.text),
        ("buttons", list(request.buttons) or None),
        ("header", request.header),
        ("footer", request.footer),
        ("list", request.list),
        ("carousel", request.carousel),
        ("flow", request.flow),
    ):
        if value is not None:
            payload[key] = value
    if request.media is not None:
        payload.update(media=request.media, mediaType=request.media_type)
        if request.caption is not None:
            payload["caption"] = request.caption
        if request.file_name is not None:
            payload["fileName"] = request.file_name
        if request.mode == "media":
            content = request.caption
            message_type = {"voice": "audio"}.get(
                request.media_type or "image", request.media_type or "image"
            )
    return {
        "mode": request.mode,
        "payload": payload,
        "content": content,
        "message_type": message_type,
        "template_name": template_row.name if template_row is not None else None,
        "template_version": template_row.version if template_row is not None else None,
    }


# -- the write -------------------------------------------------------------------------------


async def _store(
    container: Container,
    values: dict[str, Any],
    number: SendingNumber,
    request: SendRequest,
    reservation: Reservation | None,
    origin: str,
    body: Any,
) -> Accepted:
    now = container.clock.now_ms()
    message_id = ids.new_id("msg")
    deliver_at = request.deliver_at or now
    flow_token = ("flt_" + secrets.token_urlsafe(18)) if request.mode == "flow" else None
    if flow_token is not None:  # the provider sends it with the flow
        values = {**values, "payload": {**values["payload"], "flowToken": flow_token}}
    row = {
        "id": message_id,
        "workspace_id": number.workspace_id,
        "number_id": number.id,
        "correlation_id": ids.new_id("corr"),
        "status": "QUEUED",
        "origin": origin,
        "destination": request.destination,
        "destination_kind": request.destination_kind,
        "request": body,
        "labels": list(request.labels) or None,
        "mark_read": request.mark_read,
        "deliver_at": deliver_at,
        "deliver_until": request.deliver_until,
        "next_attempt_at": deliver_at,
        "attempts": 0,
        "flow_token": flow_token,
        "created_at": now,
        "updated_at": now,
        **values,
    }
    accepted = Accepted(
        id=message_id,
        correlation_id=row["correlation_id"],
        created_at=now,
        origin=origin,
        source_number=number.number,
        flow_token=flow_token,
    )
    await container.writers.messages.submit(
        PendingSend(row, request.labels, accepted, reservation, number.monthly_message_limit)
    )
    return accepted


async def write_batch(conn: Connection, batch: list[PendingSend]) -> list[Exception | None]:
    """One transaction for many accepted sends: quota, messages, timeline, labels, idempotency."""
    outcomes = await _quota_outcomes(conn, batch)
    accepted = [p for p, o in zip(batch, outcomes, strict=True) if o is None]
    if accepted:
        await message_rows.insert_accepted(conn, accepted)
    return outcomes


async def _quota_outcomes(conn: Connection, batch: list[PendingSend]) -> list[Exception | None]:
    """Free-plan monthly limits, counted in the same transaction as the inserts."""
    used: dict[str, int] = {}
    outcomes: list[Exception | None] = []
    for p in batch:
        limit = p.monthly_limit
        if limit is None:
            outcomes.append(None)
            continue
        workspace_id = p.row["workspace_id"]
        if workspace_id not in used:
            since = month_start_ms(p.row["created_at"])
            used[workspace_id] = await message_rows.used_this_month(conn, workspace_id, since)
        if used[workspace_id] >= limit:
            outcomes.append(
                errors.PaymentRequired(
                    f"The free plan allows {limit} messages per calendar month; upgrade to send more",
                    code="PLAN_LIMIT_REACHED",
                    limit=limit,
                    used=used[workspace_id],
                )
            )
            continue
        used[workspace_id] += 1
        outcomes.append(None)
    return outcomes

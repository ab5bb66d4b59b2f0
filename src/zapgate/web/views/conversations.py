"""Conversation history on the wire: the SDK's ``MessageHistoryResult`` of ``HistoryMessage``
rows, and the history's query parameters."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from zapgate.clock import iso
from zapgate.domain.conversations import Direction, HistoryEntry, HistoryPage, HistoryQuery, Listing
from zapgate.web.views.messages import date_param, int_param

HISTORY_PARAMS = ("startDate", "endDate", "page", "pageSize")


def history_query(number_id: str, listing: Listing, params: Mapping[str, str | None]) -> HistoryQuery:
    """The query parameters, checked (``400 VALIDATION_ERROR`` naming the parameter). The
    unread listing has no date filter."""
    dated = listing is not Listing.UNREAD
    return HistoryQuery(
        number_id=number_id,
        listing=listing,
        page=int_param(params.get("page"), "page", 1, 1, 1_000_000),
        page_size=int_param(params.get("pageSize"), "pageSize", 30, 1, 100),
        start_ms=date_param(params.get("startDate"), "startDate") if dated else None,
        end_ms=date_param(params.get("endDate"), "endDate") if dated else None,
    )


def conversation_id(number_id: str, conversation: str) -> str:
    """A conversation's id: stable for the number and the contact (or group), and not the
    contact's phone number (the id stays on rows whose peer is redacted)."""
    digest = hashlib.sha256(f"{number_id}\x00{conversation}".encode()).hexdigest()
    return "cv_" + digest[:24]


def history_page(number_id: str, result: HistoryPage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "messages": [entry(number_id, result, e) for e in result.entries],
        "total": result.total,
        "page": result.page,
        "pageSize": result.page_size,
        "totalPages": result.total_pages,
    }
    if result.notice is not None:
        out["notice"] = result.notice
    return out


def entry(number_id: str, result: HistoryPage, e: HistoryEntry) -> dict[str, Any]:
    """``HistoryMessage``. A redacted row (the number's PII policy removed its content) keeps
    its envelope: text, media and the peer's identity are ``None`` and ``redacted`` is true."""
    peer = e.sender if e.direction is Direction.INBOUND else e.conversation
    phone = peer if peer is not None and peer.startswith("+") else None
    out: dict[str, Any] = {
        "id": e.id,
        "conversationId": conversation_id(number_id, e.conversation),
        "direction": e.direction.value,
        "providerKind": result.provider.upper().replace("-", "_"),
        "externalMessageId": e.external_id,
        "status": e.status,
        "messageType": e.message_type,
        "origin": e.origin,
        "text": e.text,
        "participantName": e.sender_name,
        "participantPhone": phone,
        "participantUserId": peer if phone is None else None,
        "repliedToExternalId": e.replied_to,
        "media": _media(result.media_source, e.media),
        "sentAt": iso(e.sent_at),
        "deliveredAt": iso(e.delivered_at),
        "readAt": iso(e.read_at),
        "providerTimestamp": iso(e.at),
        "createdAt": iso(e.created_at),
        "referral": None,
        "chatType": e.chat_kind,  # additive: phone | group | newsletter
    }
    if e.unread_in_conversation is not None:
        out["conversationUnreadCount"] = e.unread_in_conversation
    if e.redacted:
        out.update(
            text=None,
            media=None,
            participantName=None,
            participantPhone=None,
            participantUserId=None,
            redacted=True,
        )
    return out


def _media(source: str, media: dict[str, Any] | None) -> dict[str, Any] | None:
    if not media:
        return None
    return {
        "provider": source,
        "id": media.get("id"),
        "url": media.get("url"),
        "mimeType": media.get("mimeType"),
        "fileName": media.get("fileName"),
    }

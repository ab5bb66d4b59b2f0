"""``/conversations``: a number's contacts with their last message and unread count, and one
contact's conversation (inbound and outbound, newest last), read through the same history
service as ``GET /v1/messages/history``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from starlette.responses import Response

from zapgate.domain.conversations import Direction, HistoryEntry, HistoryQuery, Listing
from zapgate.services import conversations
from zapgate.web.dashboard import core
from zapgate.web.deps import ContainerDep

router = core.page_router()

RECENT = 500  # the list groups the number's latest messages by contact
UNREAD = 200  # unread messages read for their per-contact counts
CHAT_PAGE = 50
EXCERPT = 80


@dataclass(frozen=True)
class Contact:
    """One row of the list: a conversation's latest message and its unread count."""

    conversation: str
    name: str | None
    last: HistoryEntry
    unread: int


def excerpt(text: str | None, limit: int = EXCERPT) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def image_url(entry: HistoryEntry) -> str | None:
    """An inbound image's http(s) URL, when its media carries one."""
    url = (entry.media or {}).get("url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    return None


def media_label(entry: HistoryEntry) -> str:
    media = entry.media or {}
    return str(media.get("mimeType") or media.get("fileName") or entry.message_type)


def contacts(entries: tuple[HistoryEntry, ...], unread: tuple[HistoryEntry, ...]) -> list[Contact]:
    """Conversations in order of their newest message (entries come newest first)."""
    counts = {e.conversation: e.unread_in_conversation or 0 for e in unread}
    latest: dict[str, HistoryEntry] = {}
    names: dict[str, str] = {}
    for entry in entries:
        latest.setdefault(entry.conversation, entry)
        if entry.direction is Direction.INBOUND and entry.sender_name and entry.chat_kind == "phone":
            names.setdefault(entry.conversation, entry.sender_name)
    return [Contact(c, names.get(c), e, counts.get(c, 0)) for c, e in latest.items()]


def chat_url(number_id: str, conversation: str, **extra: Any) -> str:
    return f"/conversations/{quote(conversation, safe='+@')}?" + urlencode({"number": number_id, **extra})


def _helpers() -> dict[str, Any]:
    return {"excerpt": excerpt, "image_url": image_url, "media_label": media_label, "chat_url": chat_url}


@router.get("/conversations")
async def index(request: Request, container: ContainerDep, session: core.Session) -> Response:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    number = core.pick_number(numbers, request.query_params.get("number"))
    context: dict[str, Any] = {"title": "Conversations", "numbers": numbers, "number": number, **_helpers()}
    if number is not None:
        recent = await conversations.history(container, HistoryQuery(number.id, page_size=RECENT))
        unread = await conversations.history(
            container, HistoryQuery(number.id, listing=Listing.UNREAD, page_size=UNREAD)
        )
        context.update(contacts=contacts(recent.entries, unread.entries), notice=recent.notice, recent=RECENT)
    return core.render(request, "conversations/index.html", context)


@router.get("/conversations/{contact}")
async def show(
    contact: str, request: Request, container: ContainerDep, session: core.Session, page: int = 1
) -> Response:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    number = core.pick_number(numbers, request.query_params.get("number"))
    if number is None:
        return core.redirect("/conversations")
    query = HistoryQuery(number.id, page=max(page, 1), page_size=CHAT_PAGE, conversation=contact)
    found = await conversations.history(container, query)
    entries = list(reversed(found.entries))  # chat-style: newest last
    name = next((e.sender_name for e in entries if e.sender_name and e.chat_kind == "phone"), None)
    return core.render(
        request,
        "conversations/show.html",
        {
            "title": f"Conversation with {name or contact}",
            "numbers": numbers,
            "number": number,
            "contact": contact,
            "name": name,
            "entries": entries,
            "notice": found.notice,
            "older": chat_url(number.id, contact, page=query.page + 1)
            if query.page < found.total_pages
            else None,
            "newer": chat_url(number.id, contact, page=query.page - 1) if query.page > 1 else None,
            **_helpers(),
        },
    )

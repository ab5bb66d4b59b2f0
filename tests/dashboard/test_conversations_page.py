"""/conversations (the list and one contact's chat), the message log's columns and zone, the
timeline's origin, the HTML 404 page and the favicon."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import Api
from tests.dashboard.conftest import Browser
from tests.dashboard.test_send_page import _send
from tests.helpers import with_container
from zapgate.domain.conversations import Direction, HistoryEntry, HistoryQuery
from zapgate.settings import Settings
from zapgate.storage import tables as t

CONTACT = "+5511988887777"
MESSAGE_LINK = re.compile(r'href="/messages/(msg_[A-Za-z0-9_]+)\?number=[^"]+"')


def _inbound(api: Api, number: dict[str, Any], text: str = "Oi, tudo bem?") -> None:
    r = api.post("/v1/sandbox/inbound", number["key"], json={"from": CONTACT, "text": text, "name": "Ana"})
    assert r.status_code in (200, 201, 202), r.text


def _send_api(api: Api, number: dict[str, Any], **body: Any) -> str:
    r = api.post("/v1/messages/send", number["key"], json={"destinationNumber": CONTACT, **body})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _store_image(settings: Settings, number_id: str, media: dict[str, Any]) -> None:
    now = int(time.time() * 1000)

    async def run(container: Any) -> None:
        async with container.db.write() as conn:
            await conn.execute(
                t.inbound_messages.insert().values(
                    id=f"in_img{len(media)}_{now}",
                    number_id=number_id,
                    sender=CONTACT,
                    sender_name="Ana",
                    message_type="image",
                    media=media,
                    provider_timestamp=now,
                    created_at=now,
                )
            )

    with_container(settings, run)


def test_conversations_show_inbound_and_outbound(
    signed_in: Browser, api: Api, number: dict[str, Any], wait: Callable[..., Any]
) -> None:
    _inbound(api, number)
    _send_api(api, number, text="Tudo ótimo, obrigado!")
    listing = wait(
        lambda: (
            (p := signed_in.page(f"/conversations?number={number['id']}")) and "Tudo ótimo" in p.text and p
        )
    )
    assert listing.status_code == 200
    assert 'href="/conversations"' in listing.text and ">Conversations</a>" in listing.text
    assert f'href="/conversations/{CONTACT}?number={number["id"]}">Ana</a>' in listing.text
    assert 'class="badge s-unread" title="1 unread">1<' in listing.text
    chat = signed_in.page(f"/conversations/{CONTACT}?number={number['id']}")
    assert chat.status_code == 200 and 'aria-label="Conversation"' in chat.text
    inbound, outbound = chat.text.index("Oi, tudo bem?"), chat.text.index("Tudo ótimo, obrigado!")
    assert inbound < outbound  # oldest first, like a chat
    assert 'data-direction="INBOUND"' in chat.text and 'data-direction="OUTBOUND"' in chat.text
    other = signed_in.page(f"/conversations/+5511900000000?number={number['id']}")
    assert "No message with +5511900000000 yet." in other.text


def test_inbound_images_show_a_preview_or_their_type(
    signed_in: Browser, number: dict[str, Any], settings: Settings
) -> None:
    _store_image(
        settings, number["id"], {"url": "https://cdn.example.test/cat.jpg", "mimeType": "image/jpeg"}
    )
    _store_image(settings, number["id"], {"id": "media-1", "mimeType": "image/png", "caption": "no url"})
    chat = signed_in.page(f"/conversations/{CONTACT}?number={number['id']}")
    assert '<img src="https://cdn.example.test/cat.jpg"' in chat.text
    assert 'class="media placeholder">Image · image/png<' in chat.text and "no url" in chat.text


def test_conversations_without_numbers_or_messages(signed_in: Browser, number: dict[str, Any]) -> None:
    assert "No conversation on Test number yet." in signed_in.page("/conversations").text


def test_the_log_shows_kind_content_origin_in_utc(
    signed_in: Browser, api: Api, number: dict[str, Any], wait: Callable[..., Any]
) -> None:
    _send_api(api, number, text="Plain API text")
    _send_api(api, number, media="https://example.test/a.pdf", mediaType="document", caption="The invoice")
    sent = _send(signed_in, number["id"], text="Hello from the dashboard")
    assert sent.status_code in (200, 303), sent.text
    page = signed_in.page(f"/messages?number={number['id']}")
    for header in ("Created (UTC)", "Direction", "Type", "Content", "Origin", "Status"):
        assert f">{header}</th>" in page.text, header
    assert "Dates in the filters and times in the list are UTC." in page.text
    assert re.search(r">20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC</time>", page.text)
    assert '<td class="kind">text</td>' in page.text and '<td class="kind">media · document</td>' in page.text
    assert "The invoice" in page.text and "Plain API text" in page.text
    assert (
        '<td class="hide-narrow">Dashboard</td>' in page.text
        and '<td class="hide-narrow">API</td>' in page.text
    )
    dashboard_id = MESSAGE_LINK.findall(page.text)[0]  # newest first
    shown = signed_in.page(f"/messages/{dashboard_id}?number={number['id']}")
    assert '<dd id="message-origin">Dashboard</dd>' in shown.text
    assert "· from dashboard ·" in shown.text


def test_unknown_dashboard_paths_answer_an_html_page(signed_in: Browser, api: Api) -> None:
    for path in ("/nope", "/messages/x/y"):
        page = signed_in.page(path, headers={"accept": "text/html,application/xhtml+xml"})  # a browser
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert "Page not found" in page.text and 'aria-label="Main"' in page.text
    signed_out = api.http.get("/nope", headers={"accept": "text/html"})
    assert signed_out.status_code == 404 and "Page not found" in signed_out.text
    for path in ("/v1/nope", "/v1/messages/x/y/z"):
        r = api.http.get(path)
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", path
    assert api.http.get("/nope", headers={"accept": "application/json"}).json()["code"] == "NOT_FOUND"
    # A client that does not ask for HTML (curl, httpx: */*) keeps the API's JSON error shape.
    assert api.http.get("/nope").json()["code"] == "NOT_FOUND"


def test_favicon(signed_in: Browser) -> None:
    icon = signed_in.http.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/static/favicon.svg"' in signed_in.page("/").text
    assert signed_in.http.get("/static/favicon.svg").status_code == 200


def test_history_filter_keeps_one_contact(
    api: Api, number: dict[str, Any], settings: Settings, wait: Callable[..., Any]
) -> None:
    """The repository's conversation filter, on both sides."""
    _inbound(api, number)
    _send_api(api, number, text="to Ana")
    _send_api(api, number, text="to someone else", destinationNumber="+5511977776666")
    wait(lambda: api.get("/v1/messages/history", number["key"]).json().get("total") == 3)

    async def run(container: Any) -> tuple[tuple[HistoryEntry, ...], int]:
        page: tuple[tuple[HistoryEntry, ...], int] = await container.repos.conversations.page(
            HistoryQuery(number["id"], conversation=CONTACT)
        )
        return page

    entries, total = with_container(settings, run)
    assert total == 2 and {e.conversation for e in entries} == {CONTACT}
    assert {e.direction for e in entries} == {Direction.INBOUND, Direction.OUTBOUND}

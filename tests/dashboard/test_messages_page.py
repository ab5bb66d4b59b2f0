"""/messages: the log with its filters and paging, the message page (details, timeline, request
body, live refresh), cancelling a scheduled message and workspace isolation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tests.contract.worlds import SANDBOX_NOT_ON_WHATSAPP
from tests.dashboard.conftest import Browser

CONTACT = "+5511988887777"


def send(api: Api, number: dict[str, Any], **body: Any) -> str:
    r = api.post(
        "/v1/messages/send", number["key"], json={"destinationNumber": CONTACT, "text": "Olá", **body}
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def status_of(api: Api, number: dict[str, Any], message_id: str) -> str:
    return str(api.get(f"/v1/messages/{message_id}", number["key"]).json()["status"])


def later(hours: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def today(days: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


# -- the log ---------------------------------------------------------------------------------


def test_without_a_number_the_page_says_to_add_one(signed_in: Browser) -> None:
    page = signed_in.page("/messages")
    assert page.status_code == 200 and "Add a number first" in page.text


def test_empty_log_says_how_to_send(signed_in: Browser, number: dict[str, Any]) -> None:
    page = signed_in.page(f"/messages?number={number['id']}")
    assert page.status_code == 200
    assert "No messages sent from Test number yet" in page.text
    assert f'href="/send?number={number["id"]}">Send a message' in page.text
    for field, label in (
        ("status", "Status"),
        ("destination", "Destination"),
        ("label", "Label"),
        ("startDate", "From (UTC)"),
        ("endDate", "To (UTC)"),
        ("pageSize", "Per page"),
    ):
        assert f'<label for="f-{field}">{label}</label>' in page.text, field
    assert 'type="date"' in page.text and ">Apply filters</button>" in page.text
    assert 'method="get" action="/messages"' in page.text


def test_log_lists_messages_linking_to_their_page(
    signed_in: Browser, api: Api, number: dict[str, Any], wait: Callable[..., Any]
) -> None:
    first = send(api, number, labels=["promo"])
    wait(lambda: status_of(api, number, first) == "READ")
    page = signed_in.page(f"/messages?number={number['id']}")
    assert 'aria-label="Message log"' in page.text
    assert f'<a href="/messages/{first}?number={number["id"]}">{CONTACT}</a>' in page.text
    assert 'class="badge s-read">READ' in page.text and '<td class="hide-narrow">promo</td>' in page.text
    assert "Page 1 of 1 · 1 message" in page.text
    assert ">Newer<" not in page.text and ">Older<" not in page.text


def test_filters_are_query_parameters(
    signed_in: Browser, api: Api, number: dict[str, Any], wait: Callable[..., Any]
) -> None:
    promo = send(api, number, labels=["promo"])
    other = send(api, number, destinationNumber="+5511977776666")
    failed = send(api, number, destinationNumber=SANDBOX_NOT_ON_WHATSAPP)
    wait(lambda: status_of(api, number, failed) == "FAILED" and status_of(api, number, promo) == "READ")
    base = f"/messages?number={number['id']}"

    def shown(query: str) -> set[str]:
        page = signed_in.page(base + query)
        assert page.status_code == 200, page.text
        return {m for m in (promo, other, failed) if f"/messages/{m}?" in page.text}

    assert shown("") == {promo, other, failed}
    assert shown("&status=FAILED") == {failed}
    assert shown("&label=promo") == {promo}
    assert shown("&destination=5511977776666") == {other}
    assert shown(f"&startDate={today()}&endDate={today()}") == {promo, other, failed}
    assert shown(f"&endDate={today(-1)}") == set()
    page = signed_in.page(base + "&status=FAILED&label=x")
    assert '<option value="FAILED" selected>' in page.text and 'value="x"' in page.text
    assert "No messages match these filters." in page.text and ">Clear filters</a>" in page.text
    assert 'class="badge s-failed">FAILED' in signed_in.page(base + "&status=FAILED").text


def test_a_bad_date_range_is_shown_next_to_the_end_date(signed_in: Browser, number: dict[str, Any]) -> None:
    page = signed_in.page(f"/messages?number={number['id']}&startDate={today()}&endDate={today(-2)}")
    assert page.status_code == 400
    assert '<small id="e-endDate" class="error">must not be before the start date' in page.text
    assert 'role="alert"' in page.text
    bad = signed_in.page(f"/messages?number={number['id']}&startDate=soon")
    assert bad.status_code == 400 and 'id="e-startDate"' in bad.text
    assert signed_in.page(f"/messages?number={number['id']}&page=0").status_code == 400


def test_paging_keeps_the_filters(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    ids = [send(api, number, labels=["batch"]) for _ in range(3)]
    base = f"/messages?number={number['id']}&label=batch&pageSize=2"
    first = signed_in.page(base)
    assert "Page 1 of 2 · 3 messages" in first.text and ">Newer<" not in first.text
    older = f"/messages?number={number['id']}&amp;label=batch&amp;pageSize=2&amp;page=2"
    assert f'<a href="{older}" rel="next">Older</a>' in first.text
    assert f"/messages/{ids[2]}?" in first.text and f"/messages/{ids[0]}?" not in first.text
    second = signed_in.page(base + "&page=2")
    assert f"/messages/{ids[0]}?" in second.text and ">Older<" not in second.text
    assert 'rel="prev">Newer</a>' in second.text
    beyond = signed_in.page(base + "&page=9")
    assert "No messages match these filters." in beyond.text


# -- one message -----------------------------------------------------------------------------


def test_message_page_shows_details_timeline_and_request(
    signed_in: Browser, api: Api, number: dict[str, Any], wait: Callable[..., Any]
) -> None:
    message_id = send(api, number, labels=["promo", "vip"])
    wait(lambda: status_of(api, number, message_id) == "READ")
    found = api.get(f"/v1/messages/{message_id}", number["key"]).json()
    page = signed_in.page(f"/messages/{message_id}?number={number['id']}")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>Message to {CONTACT}</h1>" in html
    assert 'class="badge s-read">READ' in html
    assert f"<code>{found['externalMessageId']}</code>" in html
    assert f'datetime="{found["readAt"]}" data-local' in html
    assert "<dd>promo, vip</dd>" in html
    assert '<h2 id="timeline-heading">Timeline</h2>' in html
    timeline = html[html.index('class="timeline"') :]
    for status in ("SENT", "DELIVERED", "READ"):
        assert f'class="badge s-{status.lower()}">{status}' in timeline
    assert "applied" in timeline and "from " in timeline
    assert '<h2 id="request-heading">Request body</h2>' in html
    assert "&#34;text&#34;: &#34;Olá&#34;" in html or '"text": "Olá"' in html
    assert "hx-trigger" not in html  # READ is final: no polling
    assert "Cancel scheduled message" not in html


def test_failed_message_shows_its_error(
    signed_in: Browser, api: Api, number: dict[str, Any], wait: Callable[..., Any]
) -> None:
    message_id = send(api, number, destinationNumber=SANDBOX_NOT_ON_WHATSAPP)
    wait(lambda: status_of(api, number, message_id) == "FAILED")
    found = api.get(f"/v1/messages/{message_id}", number["key"]).json()
    page = signed_in.page(f"/messages/{message_id}?number={number['id']}")
    assert f"<code>{found['errorCode']}</code>" in page.text
    assert 'class="badge s-failed">FAILED' in page.text


def test_a_pending_message_polls_its_live_fragment(
    signed_in: Browser, api: Api, number: dict[str, Any]
) -> None:
    message_id = send(api, number, deliverAt=later())
    page = signed_in.page(f"/messages/{message_id}?number={number['id']}")
    live = f"/messages/{message_id}/live?number={number['id']}"
    assert f'hx-get="{live}" hx-trigger="every 2s"' in page.text
    assert "updates automatically" in page.text
    fragment = signed_in.page(live)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'class="badge s-queued">QUEUED' in fragment.text and "Timeline" in fragment.text


def test_cancel_a_scheduled_message(signed_in: Browser, api: Api, number: dict[str, Any]) -> None:
    message_id = send(api, number, deliverAt=later())
    url = f"/messages/{message_id}?number={number['id']}"
    page = signed_in.page(url)
    assert '<button type="submit" class="danger">Cancel scheduled message</button>' in page.text
    cancel = f"/messages/{message_id}/cancel?number={number['id']}"
    assert signed_in.post(cancel, csrf=False).status_code == 403
    assert status_of(api, number, message_id) == "QUEUED"
    response = signed_in.post(cancel)
    assert response.status_code == 303 and response.headers["location"] == url + "&done=canceled"
    after = signed_in.page(response.headers["location"])
    assert "Message canceled." in after.text and 'class="badge s-canceled">CANCELED' in after.text
    assert "Cancel scheduled message" not in after.text and "hx-trigger" not in after.text
    live = signed_in.page(f"/messages/{message_id}/live?number={number['id']}")
    assert live.status_code == 286  # htmx stops polling
    again = signed_in.post(cancel)
    assert again.status_code == 409 and "could not be canceled" in again.text


# -- tenancy ---------------------------------------------------------------------------------


@pytest.fixture
def other(api: Api, make_tenant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    tenant = make_tenant(name="Other")
    number = api.create_number(tenant["key"], name="Other number")
    message_id = send(api, number, destinationNumber="+5511955554444", deliverAt=later())
    return {"number": number, "message": message_id}


def test_another_workspace_is_invisible_and_its_ids_answer_404(
    signed_in: Browser, api: Api, number: dict[str, Any], other: dict[str, Any]
) -> None:
    send(api, number)
    mine, theirs, msg = number["id"], other["number"]["id"], other["message"]
    listing = signed_in.page(f"/messages?number={mine}")
    assert "+5511955554444" not in listing.text and msg not in listing.text
    assert "Other number" not in listing.text
    for path in (
        f"/messages?number={theirs}",
        f"/messages/{msg}",
        f"/messages/{msg}?number={mine}",
        f"/messages/{msg}?number={theirs}",
        f"/messages/{msg}/live?number={mine}",
        f"/messages/{msg}/live?number={theirs}",
    ):
        assert signed_in.page(path).status_code == 404, path
    for path in (
        f"/messages/{msg}/cancel?number={mine}",
        f"/messages/{msg}/cancel?number={theirs}",
        f"/messages/{msg}/cancel",
    ):
        assert signed_in.post(path).status_code == 404, path
    assert status_of(api, other["number"], msg) == "QUEUED"

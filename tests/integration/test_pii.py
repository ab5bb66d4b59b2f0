"""A number's PII mode, enforced: RELAY_ONLY stores no inbound content and drops outbound
content once a message is final; STORE_X_DAYS drops both past the window; STORE_INDEFINITE
keeps everything. Webhooks carry the content either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from tests.dashboard.conftest import Browser
from tests.helpers import DEST, send, wait_status, with_container
from zapgate.providers import base
from zapgate.services import inbound
from zapgate.services.inbox import apply as inbox_apply
from zapgate.storage import tables as t

DAY_MS = 86_400_000
NEVER_READ = "+5511900000002"  # sandbox: delivered, never read
NO_RECEIPT = "+5511900000004"  # sandbox: sent, no delivery receipt


def _set_mode(api, tenant, number, mode, days=None):
    body: dict[str, Any] = {"piiMode": mode}
    if days is not None:
        body["piiRetentionDays"] = days
    r = api.patch(f"/v1/numbers/{number['id']}", tenant["key"], json=body)
    assert r.status_code == 200, r.text


def _send(api, number, text="my secret", **body):
    r = send(api, number["key"], {"destinationNumber": DEST, "text": text, **body})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _inbound(api, number, text="inbound secret"):
    r = api.post("/v1/sandbox/inbound", number["key"], json={"from": DEST, "text": text, "name": "Ana Souza"})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def _row(settings, table, row_id):
    async def load(c):
        async with c.db.read() as conn:
            return (await conn.execute(sa.select(table).where(table.c.id == row_id))).one()

    return with_container(settings, load)


def _contact_name(settings, number):
    async def load(c):
        async with c.db.read() as conn:
            return (
                await conn.execute(
                    sa.select(t.contacts.c.name).where(
                        t.contacts.c.number_id == number["id"], t.contacts.c.contact == DEST
                    )
                )
            ).scalar()

    return with_container(settings, load)


def _age(settings, table, row_id, days):
    """Move a row's creation back by ``days``."""

    async def run(c):
        async with c.db.write() as conn:
            await conn.execute(
                sa.update(table)
                .where(table.c.id == row_id)
                .values(created_at=table.c.created_at - days * DAY_MS)
            )

    with_container(settings, run)


def _redacted(api, number, message_id):
    body = api.get(f"/v1/messages/{message_id}", number["key"]).json()
    return body if body.get("redacted") else None


def _a_redaction_pass_from_now(api, tenant, settings, wait):
    """Returns once the sweeper has run a whole redaction pass that began after this call, so a
    row that pass left alone was left alone on purpose (a fixed sleep proved nothing on a slow
    machine). The proof is a marker: a message of another number, kept for a day and aged past
    that here, is redacted. The pass that redacts it read the numbers' modes after that number
    took its mode (in this call), then redacts outbound messages, then inbound ones and names,
    so it saw every change made before this call."""
    marker_number = api.create_number(tenant["key"])
    _set_mode(api, tenant, marker_number, "STORE_X_DAYS", days=1)
    marker = _send(api, marker_number, "marker", destinationNumber=NO_RECEIPT)
    wait_status(api, wait, marker_number["key"], marker, "SENT")
    _age(settings, t.messages, marker, days=2)
    wait(lambda: _redacted(api, marker_number, marker))


def _iso(seconds_from_now):
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).isoformat()


def _hook(api, number, receiver):
    r = api.post("/v1/webhooks", number["key"], json={"url": receiver.url, "events": "*"})
    assert r.status_code == 201, r.text


def _received(receiver, inbound_id):
    items = receiver.wait_for(lambda got: any(i.json()["data"].get("id") == inbound_id for i in got))
    return next(i.json()["data"] for i in items if i.json()["data"].get("id") == inbound_id)


# -- RELAY_ONLY --------------------------------------------------------------------------------


def test_relay_only_inbound_is_stored_without_content_but_relayed(api, tenant, number, receiver, settings):
    _set_mode(api, tenant, number, "RELAY_ONLY")
    _hook(api, number, receiver)
    inbound_id = _inbound(api, number)
    data = _received(receiver, inbound_id)
    assert data["content"] == "inbound secret" and data["participantName"] == "Ana Souza"
    row = _row(settings, t.inbound_messages, inbound_id)
    assert row.text is None and row.sender_name is None and row.media is None
    assert row.redacted_at is not None and row.sender == DEST
    assert _contact_name(settings, number) is None


def test_relay_only_inbound_media_reaches_the_webhook_only(api, tenant, number, receiver, settings):
    _set_mode(api, tenant, number, "RELAY_ONLY")
    _hook(api, number, receiver)
    media = {
        "id": "media-1",
        "url": "https://example.test/photo.jpg",
        "mimeType": "image/jpeg",
        "caption": "look",
    }

    async def receive(c):
        async with c.db.write() as conn:
            return await inbound.receive(
                conn,
                inbound.Inbound(
                    number_id=number["id"],
                    sender=DEST,
                    text="look",
                    sender_name="Ana",
                    provider_message_id="wamid.media",
                    message_type="image",
                    media=media,
                ),
                now_ms=c.clock.now_ms(),
            )

    stored = with_container(settings, receive)
    data = _received(receiver, stored.id)
    assert data["mediaLink"] == media["url"] and data["mediaCaption"] == "look"
    row = _row(settings, t.inbound_messages, stored.id)
    assert (row.text, row.sender_name, row.media) == (None, None, None)


def test_relay_only_outbound_content_goes_once_final(api, tenant, number, settings, wait):
    _set_mode(api, tenant, number, "RELAY_ONLY")
    scheduled = _send(api, number, "see you later", deliverAt=_iso(3600))
    read = _send(api, number)
    wait_status(api, wait, number["key"], read, "READ")
    body = wait(lambda: _redacted(api, number, read))
    assert body["status"] == "READ" and body["redactedAt"] and body["readAt"]
    row = _row(settings, t.messages, read)
    assert (row.content, row.payload, row.request) == (None, {}, None)
    events = api.get(f"/v1/messages/{read}/events", number["key"]).json()["events"]
    assert [e["status"] for e in events if e["applied"]] == ["QUEUED", "SENT", "DELIVERED", "READ"]
    queued = api.get(f"/v1/messages/{scheduled}", number["key"]).json()
    assert queued["status"] == "QUEUED" and "redacted" not in queued
    row = _row(settings, t.messages, scheduled)
    assert row.content == "see you later" and row.payload["text"] == "see you later"
    assert row.request["text"] == "see you later" and row.redacted_at is None


def test_relay_only_delivered_keeps_content_for_a_grace(start_server, make_tenant, api_for, settings, wait):
    api = api_for(start_server(relay_only_delivered_grace_seconds=1.5))
    tenant = make_tenant()
    number = api.create_number(tenant["key"])
    _set_mode(api, tenant, number, "RELAY_ONLY")
    delivered = _send(api, number, destinationNumber=NEVER_READ)
    sent = _send(api, number, destinationNumber=NO_RECEIPT)
    wait_status(api, wait, number["key"], delivered, "DELIVERED")
    assert "redacted" not in api.get(f"/v1/messages/{delivered}", number["key"]).json()
    assert wait(lambda: _redacted(api, number, delivered))["status"] == "DELIVERED"
    wait_status(api, wait, number["key"], sent, "SENT")
    assert _row(settings, t.messages, sent).content == "my secret"  # may still be retried


def test_existing_content_goes_when_a_number_switches_to_relay_only(api, tenant, number, settings, wait):
    message = _send(api, number)
    wait_status(api, wait, number["key"], message, "READ")
    inbound_id = _inbound(api, number)
    _a_redaction_pass_from_now(api, tenant, settings, wait)
    assert _row(settings, t.inbound_messages, inbound_id).text == "inbound secret"
    assert _contact_name(settings, number) == "Ana Souza"
    _set_mode(api, tenant, number, "RELAY_ONLY")
    wait(lambda: _redacted(api, number, message))
    wait(lambda: _row(settings, t.inbound_messages, inbound_id).redacted_at)
    row = _row(settings, t.inbound_messages, inbound_id)
    assert row.text is None and row.sender_name is None
    assert _contact_name(settings, number) is None


# -- STORE_X_DAYS ------------------------------------------------------------------------------


def test_store_x_days_redacts_only_rows_older_than_the_window(api, tenant, number, settings, wait):
    _set_mode(api, tenant, number, "STORE_X_DAYS", days=2)
    old, recent = _send(api, number, "old secret"), _send(api, number, "new secret")
    old_queued = _send(api, number, "old but queued", deliverAt=_iso(3600))
    for message_id in (old, recent):
        wait_status(api, wait, number["key"], message_id, "READ")
    old_in, recent_in = _inbound(api, number, "old inbound"), _inbound(api, number, "new inbound")
    _a_redaction_pass_from_now(api, tenant, settings, wait)
    assert not _redacted(api, number, old)
    for table, row_id in ((t.messages, old), (t.messages, old_queued), (t.inbound_messages, old_in)):
        _age(settings, table, row_id, days=3)
    wait(lambda: _redacted(api, number, old))
    wait(lambda: _row(settings, t.inbound_messages, old_in).redacted_at)
    assert _row(settings, t.messages, old).content is None
    assert _row(settings, t.inbound_messages, old_in).text is None
    assert _row(settings, t.messages, recent).content == "new secret"
    assert _row(settings, t.messages, old_queued).content == "old but queued"
    assert _row(settings, t.inbound_messages, recent_in).text == "new inbound"
    assert not _redacted(api, number, recent) and not _redacted(api, number, old_queued)
    assert _contact_name(settings, number) == "Ana Souza"  # its latest message is recent


def test_store_x_days_counts_long_windows_in_days(api, tenant, number, settings, wait):
    _set_mode(api, tenant, number, "STORE_X_DAYS", days=3650)
    older, newer = _send(api, number, "older"), _send(api, number, "newer")
    for message_id in (older, newer):
        wait_status(api, wait, number["key"], message_id, "READ")
    # ``newer`` first: the query that redacts ``older`` then also sees ``newer`` aged, and must
    # leave it (no sleep needed to show that no later pass redacts it).
    _age(settings, t.messages, newer, days=3649)
    _age(settings, t.messages, older, days=3651)
    wait(lambda: _redacted(api, number, older))
    assert _row(settings, t.messages, newer).content == "newer"


def test_a_redacted_message_is_not_sent_again(api, tenant, number, settings, wait):
    """A transient failure reported after the content went fails the message for good."""
    _set_mode(api, tenant, number, "STORE_X_DAYS", days=1)
    message = _send(api, number, destinationNumber=NO_RECEIPT)
    sent = wait_status(api, wait, number["key"], message, "SENT")
    _age(settings, t.messages, message, days=2)
    wait(lambda: _redacted(api, number, message))

    event = base.StatusUpdate(
        provider_message_id=sent["externalMessageId"],
        status="FAILED",
        code="PROVIDER_UNAVAILABLE",
        retryable=True,
    )

    class OneEvent:  # a provider whose callback says exactly this (the sandbox sends none)
        def get(self, _kind):
            return SimpleNamespace(parse_callback=lambda _body: [event])

    async def transient_failure(c):
        ctx = inbox_apply.Context(
            registry=OneEvent(), settings=c.settings, metrics=None, now_ms=c.clock.now_ms(), endpoints={}
        )
        row = SimpleNamespace(
            id=1,
            kind="callback",
            provider="sandbox",
            number_id=number["id"],
            payload={"body": {}},
            attempts=0,
        )
        async with c.db.write() as conn:
            applied = await inbox_apply.apply_batch(conn, [row], ctx)
        assert applied.deferred == []

    with_container(settings, transient_failure)
    failed = api.get(f"/v1/messages/{message}", number["key"]).json()
    assert failed["status"] == "FAILED" and failed["errorCode"] == "PROVIDER_UNAVAILABLE"


# -- STORE_INDEFINITE --------------------------------------------------------------------------


def test_store_indefinite_keeps_everything(api, tenant, number, settings, wait):
    message = _send(api, number)
    wait_status(api, wait, number["key"], message, "READ")
    inbound_id = _inbound(api, number)
    for table, row_id in ((t.messages, message), (t.inbound_messages, inbound_id)):
        _age(settings, table, row_id, days=4000)
    _a_redaction_pass_from_now(api, tenant, settings, wait)
    row = _row(settings, t.messages, message)
    assert row.content == "my secret" and row.request["text"] == "my secret"
    assert row.redacted_at is None and not _redacted(api, number, message)
    stored = _row(settings, t.inbound_messages, inbound_id)
    assert stored.text == "inbound secret" and stored.sender_name == "Ana Souza"


def test_switching_back_to_store_indefinite_stops_redaction(api, tenant, number, settings, wait):
    _set_mode(api, tenant, number, "RELAY_ONLY")
    scheduled = _send(api, number, "later", deliverAt=_iso(3600))
    _set_mode(api, tenant, number, "STORE_INDEFINITE")
    r = api.delete("/v1/messages/cancel", number["key"], json={"messageIds": [scheduled]})
    assert r.json()["cancelled"] == [scheduled]
    inbound_id = _inbound(api, number)
    _a_redaction_pass_from_now(api, tenant, settings, wait)
    assert _row(settings, t.messages, scheduled).content == "later"
    assert _row(settings, t.inbound_messages, inbound_id).text == "inbound secret"


# -- the dashboard -----------------------------------------------------------------------------


def test_message_page_says_the_content_was_removed(server, api, tenant, number, wait):
    _set_mode(api, tenant, number, "RELAY_ONLY")
    message = _send(api, number)
    wait(lambda: _redacted(api, number, message))
    browser = Browser(server.url)
    try:
        assert browser.login(tenant["email"], tenant["password"]).status_code == 303
        page = browser.page(f"/messages/{message}?number={number['id']}")
    finally:
        browser.close()
    assert page.status_code == 200
    assert "Content removed by the number's PII policy (relay only; removed" in page.text
    assert "my secret" not in page.text and "stored without its request body" not in page.text

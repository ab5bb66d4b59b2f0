"""GET /v1/messages/history, /unread and /group: both directions in one timeline, paging,
dates, scopes and the number's PII policy."""

from __future__ import annotations

from typing import Any

from tests.helpers import DEST, assert_error, send, wait_status
from zapgate.clock import FakeClock

OTHER = "+5511977770000"


def _send(api: Any, key: str, **body: Any) -> dict[str, Any]:
    r = send(api, key, {"destinationNumber": DEST, "text": "bom dia", **body})
    assert r.status_code == 202, r.text
    return r.json()


def _inbound(api: Any, key: str, sender: str = DEST, text: str = "oi") -> dict[str, Any]:
    r = api.post("/v1/sandbox/inbound", key, json={"from": sender, "text": text, "name": "Maria"})
    assert r.status_code == 200, r.text
    return r.json()


def test_history_is_both_directions_newest_first(api, number, wait):
    k = number["key"]
    out = _send(api, k)
    wait_status(api, wait, k, out["id"], "READ")
    _inbound(api, k, text="oi, tudo bem?")
    history = api.get("/v1/messages/history", k)
    assert history.status_code == 200, history.text
    body = history.json()
    assert body["total"] == 2 and body["page"] == 1 and body["pageSize"] == 30 and body["totalPages"] == 1
    assert "notice" not in body
    received, sent = body["messages"]
    assert received["direction"] == "INBOUND" and sent["direction"] == "OUTBOUND"
    assert received["text"] == "oi, tudo bem?" and received["participantName"] == "Maria"
    assert received["participantPhone"] == DEST and received["origin"] is None
    assert received["status"] == "RECEIVED" and received["providerKind"] == "SANDBOX"
    assert sent["id"] == out["id"] and sent["text"] == "bom dia" and sent["status"] == "READ"
    assert sent["origin"] == "API" and sent["participantPhone"] == DEST and sent["sentAt"] is not None
    assert sent["externalMessageId"] is not None and sent["messageType"] == "text"
    # One conversation, and its id is not the contact's phone number.
    assert received["conversationId"] == sent["conversationId"]
    assert DEST.lstrip("+") not in received["conversationId"]
    assert received["providerTimestamp"] >= sent["providerTimestamp"]


def test_history_is_not_a_message_id_and_pages(api, number):
    k = number["key"]
    empty = api.get("/v1/messages/history", k)
    assert empty.status_code == 200 and empty.json()["messages"] == [] and empty.json()["total"] == 0
    for text in ("um", "dois", "três"):
        _inbound(api, k, text=text)
    page2 = api.get("/v1/messages/history", k, params={"pageSize": 2, "page": 2}).json()
    assert page2["total"] == 3 and page2["totalPages"] == 2
    assert [m["text"] for m in page2["messages"]] == ["um"]
    past = api.get("/v1/messages/history", k, params={"page": 3, "pageSize": 2}).json()
    assert past["messages"] == [] and past["total"] == 3
    future = api.get("/v1/messages/history", k, params={"startDate": "2099-01-01T00:00:00Z"}).json()
    assert future["total"] == 0 and future["messages"] == []
    until = api.get("/v1/messages/history", k, params={"endDate": "2000-01-01T00:00:00Z"}).json()
    assert until["total"] == 0


def test_history_rejects_bad_parameters(api, number):
    k = number["key"]
    dates = {"startDate": "2026-02-01T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"}
    assert_error(api.get("/v1/messages/history", k, params=dates), 400, "INVALID_DATE_RANGE")
    assert_error(api.get("/v1/messages/group", k, params=dates), 400, "INVALID_DATE_RANGE")
    assert_error(api.get("/v1/messages/history", k, params={"pageSize": 101}), 400, "VALIDATION_ERROR")
    assert_error(api.get("/v1/messages/history", k, params={"page": "0"}), 400, "VALIDATION_ERROR")
    assert_error(
        api.get("/v1/messages/history", k, params={"startDate": "yesterday"}), 400, "VALIDATION_ERROR"
    )
    assert_error(api.get("/v1/messages/history"), 401, "UNAUTHORIZED")


def test_tenant_key_names_the_number(api, tenant, number):
    _inbound(api, number["key"])
    assert_error(api.get("/v1/messages/history", tenant["key"]), 403, "TENANT_SCOPE_NOT_ALLOWED")
    r = api.get("/v1/messages/history", tenant["key"], headers={"x-whatsapp-number-id": number["id"]})
    assert r.status_code == 200 and r.json()["total"] == 1


def test_numbers_never_see_each_other(api, tenant, number):
    other = api.create_number(tenant["key"])
    _inbound(api, number["key"])
    _send(api, number["key"])
    assert api.get("/v1/messages/history", other["key"]).json()["total"] == 0
    assert api.get("/v1/messages/unread", other["key"]).json()["total"] == 0


def test_unread_counts_each_conversation(api, number):
    k = number["key"]
    _inbound(api, k, text="a")
    _inbound(api, k, text="b")
    _inbound(api, k, sender=OTHER, text="c")
    _send(api, k)  # outbound never counts
    body = api.get("/v1/messages/unread", k).json()
    assert body["total"] == 3 and [m["text"] for m in body["messages"]] == ["c", "b", "a"]
    counts = {m["participantPhone"]: m["conversationUnreadCount"] for m in body["messages"]}
    assert counts == {OTHER: 1, DEST: 2}
    assert all(m["direction"] == "INBOUND" and m["readAt"] is None for m in body["messages"])
    # No date filter on the unread listing: dates are ignored, not refused.
    assert (
        api.get("/v1/messages/unread", k, params={"startDate": "2099-01-01T00:00:00Z"}).json()["total"] == 3
    )


def test_group_listing_holds_group_conversations_only(api, number):
    k = number["key"]
    _inbound(api, k)
    r = api.get("/v1/messages/group", k)
    assert r.status_code == 200 and r.json()["total"] == 0


def test_relay_only_keeps_no_conversation(api, tenant, number):
    k = number["key"]
    _inbound(api, k)
    r = api.patch(f"/v1/numbers/{number['id']}", tenant["key"], json={"piiMode": "RELAY_ONLY"})
    assert r.status_code == 200, r.text
    body = api.get("/v1/messages/history", k).json()
    assert body == {
        "messages": [],
        "total": 0,
        "page": 1,
        "pageSize": 30,
        "totalPages": 0,
        "notice": "PII_RELAY_ONLY",
    }


def test_redacted_rows_keep_their_envelope(api, tenant, number, wait):
    """A row the PII policy cleared (here: received while the number was RELAY_ONLY) is shown
    once the number keeps history again, without content or peer."""
    k = number["key"]
    patch = f"/v1/numbers/{number['id']}"
    assert api.patch(patch, tenant["key"], json={"piiMode": "RELAY_ONLY"}).status_code == 200
    _inbound(api, k, text="segredo")
    assert api.patch(patch, tenant["key"], json={"piiMode": "STORE_INDEFINITE"}).status_code == 200
    (row,) = api.get("/v1/messages/history", k).json()["messages"]
    assert row["redacted"] is True and row["text"] is None and row["participantPhone"] is None
    assert row["participantName"] is None and row["media"] is None and row["direction"] == "INBOUND"


def test_store_x_days_shows_its_window(start_server, api_for, make_tenant):
    """The window's lower bound is the later of ``startDate`` and now minus the retention days,
    on the server's clock."""
    clock = FakeClock()
    api = api_for(start_server(clock=clock))
    tenant = make_tenant()
    number = api.create_number(tenant["key"])
    k = number["key"]
    _inbound(api, k, text="velha")
    clock.advance(2 * 86_400)
    _inbound(api, k, text="nova")
    r = api.patch(
        f"/v1/numbers/{number['id']}", tenant["key"], json={"piiMode": "STORE_X_DAYS", "piiRetentionDays": 1}
    )
    assert r.status_code == 200, r.text
    body = api.get("/v1/messages/history", k, params={"startDate": "2000-01-01T00:00:00Z"}).json()
    assert [m["text"] for m in body["messages"]] == ["nova"] and body["total"] == 1
    r = api.patch(f"/v1/numbers/{number['id']}", tenant["key"], json={"piiMode": "STORE_INDEFINITE"})
    assert r.status_code == 200, r.text
    assert api.get("/v1/messages/history", k).json()["total"] == 2


def test_a_send_with_a_read_receipt_reads_the_conversation(api, tenant, wait):
    """A Cloud-API-like number marks the contact's last message read when it answers (the
    receipt goes out with the send): that contact's messages leave the unread listing."""
    official = api.create_number(tenant["key"], official=True)
    k = official["key"]
    _inbound(api, k, text="primeira")
    _inbound(api, k, text="segunda")
    _inbound(api, k, sender=OTHER, text="de outro")
    assert api.get("/v1/messages/unread", k).json()["total"] == 3
    out = _send(api, k)
    wait_status(api, wait, k, out["id"], "SENT", or_later=True)
    unread = api.get("/v1/messages/unread", k).json()
    assert unread["total"] == 1 and unread["messages"][0]["participantPhone"] == OTHER
    read = [m for m in api.get("/v1/messages/history", k).json()["messages"] if m["text"] == "segunda"]
    assert read[0]["status"] == "READ" and read[0]["readAt"] is not None
    quiet = _send(api, k, destinationNumber=OTHER, markRead=False)
    wait_status(api, wait, k, quiet["id"], "SENT", or_later=True)
    assert api.get("/v1/messages/unread", k).json()["total"] == 1  # no receipt asked: still unread


def test_group_and_channel_messages_are_simulated_and_listed(api, number, receiver):
    from pilot_status.webhooks import parse_customer_webhook

    k = number["key"]
    assert api.post("/v1/webhooks", k, json={"url": receiver.url, "events": ["*"]}).status_code == 201
    group = {"groupId": "120363025246125486@g.us", "groupName": "Equipe"}
    r = api.post("/v1/sandbox/inbound", k, json={"from": DEST, "text": "no grupo", "name": "Ana", **group})
    assert r.status_code == 200 and r.json()["event"] == "message.group", r.text
    channel = {"newsletterId": "120363144038483540@newsletter", "newsletterName": "Ofertas"}
    r = api.post("/v1/sandbox/inbound", k, json={"from": DEST, "text": "no canal", **channel})
    assert r.status_code == 200 and r.json()["event"] == "message.newsletter", r.text
    _inbound(api, k, text="direto")
    hooks = receiver.wait_for(lambda got: len(got) >= 3)
    parsed = {h["event"]: h["data"] for h in (parse_customer_webhook(x.json()) for x in hooks)}
    assert parsed["message.group"]["groupId"] == group["groupId"]
    assert parsed["message.group"]["groupName"] == "Equipe"
    assert parsed["message.newsletter"]["newsletterId"] == channel["newsletterId"]
    groups = api.get("/v1/messages/group", k).json()
    assert [m["text"] for m in groups["messages"]] == ["no grupo"] and groups["messages"][0][
        "chatType"
    ] == "group"
    assert groups["messages"][0]["participantPhone"] == DEST
    everything = api.get("/v1/messages/history", k).json()
    assert {m["chatType"] for m in everything["messages"]} == {"group", "newsletter", "phone"}
    for bad in (
        {"groupId": "x"},
        {"newsletterId": "1@g.us"},
        {**group, **channel},
        {**group, "groupName": 5},
    ):
        body = {"from": DEST, "text": "x", **bad}
        assert_error(api.post("/v1/sandbox/inbound", k, json=body), 400, "VALIDATION_ERROR")

"""Every synchronous send error: status, code and the {error, code} body."""

from __future__ import annotations

import sqlalchemy as sa

from tests.helpers import DEST, assert_error, send, with_container
from zapgate.services import tenants
from zapgate.storage import tables as t


def test_auth_errors(api, tenant, number):
    assert_error(send(api, None, {"destinationNumber": DEST, "text": "x"}), 401, "UNAUTHORIZED")
    assert_error(send(api, "ps_unknown", {"destinationNumber": DEST, "text": "x"}), 401, "UNAUTHORIZED")
    assert_error(
        send(api, tenant["key"], {"destinationNumber": DEST, "text": "x"}), 403, "TENANT_SCOPE_NOT_ALLOWED"
    )
    assert_error(
        api.post("/v1/api-keys", number["key"], json={"whatsappNumberId": number["id"]}),
        403,
        "NUMBER_SCOPE_NOT_ALLOWED",
    )


def test_key_id_header_authenticates_and_rotation_revokes(api, tenant, number):
    r = api.post(
        "/v1/messages/send",
        None,
        headers={"x-api-key-id": number["keyId"]},
        json={"destinationNumber": DEST, "text": "x"},
    )
    assert r.status_code == 202, r.text
    rotated = api.post("/v1/api-keys", tenant["key"], json={"whatsappNumberId": number["id"]})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["key"].startswith("ps_") and len(new["key"]) == 43
    assert new["keyPrefix"] == new["key"][:7] and new["keyLast4"] == new["key"][-4:]
    assert_error(send(api, number["key"], {"destinationNumber": DEST, "text": "x"}), 401, "UNAUTHORIZED")
    r = api.post(
        "/v1/messages/send",
        None,
        headers={"x-api-key-id": number["keyId"]},
        json={"destinationNumber": DEST, "text": "x"},
    )
    assert_error(r, 401, "UNAUTHORIZED")
    assert send(api, new["key"], {"destinationNumber": DEST, "text": "x"}).status_code == 202


def test_key_id_auth_can_be_switched_off(start_server, make_tenant, api_for):
    api = api_for(start_server(allow_key_id_auth=False))
    number = api.create_number(make_tenant()["key"])
    r = api.post(
        "/v1/messages/send",
        None,
        headers={"x-api-key-id": number["keyId"]},
        json={"destinationNumber": DEST, "text": "x"},
    )
    assert_error(r, 401, "UNAUTHORIZED")


def test_validation_errors_over_http(api, number):
    k = number["key"]
    body = assert_error(
        send(api, k, {"destinationNumber": DEST, "text": "x", "labels": 3}), 400, "VALIDATION_ERROR"
    )
    assert body["details"] == [{"field": "labels", "message": "must be an array of strings"}]
    assert_error(send(api, k, {"destinationNumber": "nope", "text": "x"}), 400, "INVALID_DESTINATION")
    assert_error(
        send(api, k, {"destinationNumber": DEST, "text": "x", "templateId": "t"}), 400, "MODE_CONFLICT"
    )
    assert_error(
        send(
            api,
            k,
            {
                "destinationNumber": DEST,
                "media": "https://x.example/a.ogg",
                "mediaType": "audio",
                "caption": "c",
            },
        ),
        400,
        "CAPTION_NOT_ALLOWED",
    )
    bad_json = api.post(
        "/v1/messages/send", k, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(bad_json, 400, "VALIDATION_ERROR")
    assert_error(api.post("/v1/messages/send", k), 400, "VALIDATION_ERROR")


def test_groups_and_newsletters_refused_on_official_numbers(api, tenant):
    official = api.create_number(tenant["key"], official=True)
    assert_error(
        send(api, official["key"], {"groupId": "120363012345678901@g.us", "text": "x"}),
        400,
        "NOT_SUPPORTED_FOR_META",
    )
    assert_error(
        send(api, official["key"], {"newsletterId": "120363012345678901@newsletter", "text": "x"}),
        400,
        "NOT_SUPPORTED_FOR_META",
    )


def test_groups_accepted_on_unofficial_numbers(api, number):
    r = send(api, number["key"], {"groupId": "120363012345678901@g.us", "text": "x"})
    assert r.status_code == 202, r.text


def test_flow_needs_open_window_on_official_numbers(api, tenant):
    official = api.create_number(tenant["key"], official=True)
    flow = {"flowId": "123", "cta": "Open", "action": "navigate", "screen": "S1"}
    assert_error(
        send(api, official["key"], {"destinationNumber": DEST, "flow": flow}), 400, "FLOW_WINDOW_CLOSED"
    )
    inbound = api.post("/v1/sandbox/inbound", official["key"], json={"from": DEST, "text": "hi"})
    assert inbound.status_code == 200, inbound.text
    r = send(api, official["key"], {"destinationNumber": DEST, "flow": flow, "text": "Pick"})
    assert r.status_code == 202, r.text
    assert r.json()["flowToken"].startswith("flt_")


def test_media_needs_a_paid_plan(api, make_tenant):
    free = make_tenant(plan="FREE")
    number = api.create_number(free["key"])
    assert_error(
        send(api, number["key"], {"destinationNumber": DEST, "media": "https://x.example/a.png"}),
        402,
        "SUBSCRIPTION_REQUIRED_FOR_MEDIA",
    )
    assert_error(
        send(
            api,
            number["key"],
            {
                "destinationNumber": DEST,
                "text": "x",
                "buttons": [{"type": "reply", "label": "ok"}],
                "header": {"type": "image", "content": "https://x.example/a.png"},
            },
        ),
        402,
        "SUBSCRIPTION_REQUIRED_FOR_MEDIA",
    )
    assert send(api, number["key"], {"destinationNumber": DEST, "text": "x"}).status_code == 202


def test_free_plan_quota(api, make_tenant, settings):
    free = make_tenant(plan="FREE")
    with_container(
        settings, lambda c: tenants.set_plan(c, workspace_id=free["id"], plan="FREE", monthly_limit=3)
    )
    number = api.create_number(free["key"])
    for _ in range(3):
        assert send(api, number["key"], {"destinationNumber": DEST, "text": "x"}).status_code == 202
    body = assert_error(
        send(api, number["key"], {"destinationNumber": DEST, "text": "x"}), 402, "PLAN_LIMIT_REACHED"
    )
    assert body["limit"] == 3 and body["used"] == 3


def test_free_plan_allows_one_number(api, make_tenant):
    free = make_tenant(plan="FREE")
    api.create_number(free["key"])
    r = api.post("/v1/numbers", free["key"], json={"name": "2", "number": "+5511911112222"})
    assert_error(r, 409, "NUMBER_LIMIT_EXCEEDED")


def test_body_too_large(start_server, make_tenant, api_for):
    api = api_for(start_server(max_body_bytes=2048))
    number = api.create_number(make_tenant()["key"])
    r = send(api, number["key"], {"destinationNumber": DEST, "text": "x" * 4000})
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_rate_limit(start_server, make_tenant, api_for):
    api = api_for(start_server(rate_limit_per_second=0.5, rate_limit_burst=2))
    number = api.create_number(make_tenant()["key"])
    codes = [send(api, number["key"], {"destinationNumber": DEST, "text": "x"}) for _ in range(3)]
    assert [c.status_code for c in codes[:2]] == [202, 202]
    body = assert_error(codes[2], 429, "RATE_LIMITED")
    assert body["retryAfterSeconds"] >= 1
    assert int(codes[2].headers["retry-after"]) == body["retryAfterSeconds"]


def test_deleted_number_key_stops_working(api, number, settings):
    async def delete(c):
        async with c.db.write() as conn:
            await conn.execute(
                sa.update(t.numbers).where(t.numbers.c.id == number["id"]).values(deleted_at=1)
            )

    with_container(settings, delete)
    assert_error(send(api, number["key"], {"destinationNumber": DEST, "text": "x"}), 401, "UNAUTHORIZED")


def test_typing_indicator(api, tenant, number):
    r = api.post("/v1/messages/typing", number["key"], json={"destinationNumber": DEST})
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert_error(
        api.post("/v1/messages/typing", number["key"], json={"destinationNumber": "x"}),
        400,
        "INVALID_DESTINATION",
    )
    assert_error(
        api.post("/v1/messages/typing", tenant["key"], json={"destinationNumber": DEST}),
        403,
        "TENANT_SCOPE_NOT_ALLOWED",
    )


def test_a_simulated_inbound_with_an_overlong_name_or_quoted_id_is_refused_clearly(api, number):
    """The stored name has 200 characters; PostgreSQL refused a longer one with a 500."""
    body = {"from": DEST, "text": "hi", "name": "n" * 201}
    refused = assert_error(api.post("/v1/sandbox/inbound", number["key"], json=body), 400, "VALIDATION_ERROR")
    assert refused["details"] == [{"field": "name", "message": "at most 200 characters"}]
    ok = api.post("/v1/sandbox/inbound", number["key"], json={**body, "name": "n" * 200})
    assert ok.status_code == 200, ok.text
    long_id = {"from": DEST, "text": "hi", "quotedMessageId": "q" * 129}
    refused = assert_error(
        api.post("/v1/sandbox/inbound", number["key"], json=long_id), 400, "VALIDATION_ERROR"
    )
    assert refused["details"] == [{"field": "quotedMessageId", "message": "at most 128 characters"}]


def test_a_providers_overlong_names_and_ids_are_cut_not_refused(server, number):
    """A callback's odd names and ids must not stall the inbox (PostgreSQL would refuse the row)."""
    from zapgate.services import inbound

    async def store(container):
        async with container.db.write() as conn:
            stored = await inbound.receive(
                conn,
                inbound.Inbound(number_id=number["id"], sender=DEST, text="hi", sender_name="n" * 300,
                                provider_message_id="wamid.long-name", quoted_message_id="q" * 500,
                                chat_id="c" * 500, reply_id="r" * 500),
                now_ms=container.clock.now_ms(),
            )  # fmt: skip
            c = t.inbound_messages.c
            rows = (
                await conn.execute(
                    sa.select(c.sender_name, c.quoted_message_id, c.chat_id, c.reply_id).where(
                        c.provider_message_id == "wamid.long-name"
                    )
                )
            ).all()
        return stored.event, [tuple(row) for row in rows]

    event, names = with_container(server.settings, store)
    assert event == "message.received"
    assert names == [("n" * 200, "q" * 128, "c" * 128, "r" * 256)]

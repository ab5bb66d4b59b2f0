"""Meta Cloud API end to end: Zapgate → the real adapter → the Meta simulator over loopback →
signed callbacks → lifecycle → customer webhooks parsed by the official SDK."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.contract.worlds import (
    META_APP_SECRET,
    META_NUMBER,
    META_VERIFY_TOKEN,
    World,
)
from tests.helpers import assert_error, with_container

CONTACT = "+5511988887777"


@pytest.fixture
def meta(make_world: Callable[..., World]) -> World:
    return make_world("meta")


def _graph_sends(world: World) -> list[dict[str, Any]]:
    return [
        r["json"]
        for r in world.control("GET", "/_sim/requests?path=/messages")
        if r["method"] == "POST" and r["path"].endswith("/messages")
    ]


def _sent_body(world: World, message_id: str) -> dict[str, Any]:
    [body] = [b for b in _graph_sends(world) if b.get("biz_opaque_callback_data") == message_id]
    return body


# -- the 24 h window ---------------------------------------------------------------------------


def test_free_text_outside_the_window_fails_and_passes_after_an_inbound(meta: World) -> None:
    outside = meta.send_accepted({"destinationNumber": CONTACT, "text": "Olá"})
    failed = meta.wait_status(outside, "FAILED")
    assert failed["errorCode"] == "META_OUTSIDE_24H_WINDOW"
    meta.open_window(CONTACT)
    inside = meta.send_accepted({"destinationNumber": CONTACT, "text": "Olá de novo"})
    meta.wait_status(inside, "READ")
    assert _sent_body(meta, inside)["text"]["body"] == "Olá de novo"


def test_window_error_reported_by_meta_in_a_status_maps_to_its_code(meta: World) -> None:
    meta.open_window(CONTACT)
    meta.control(
        "POST",
        "/_sim/faults",
        {"kind": "async_error", "code": 131047, "path": "/messages", "to": CONTACT[1:]},
    )
    message_id = meta.send_accepted({"destinationNumber": CONTACT, "text": "late"})
    failed = meta.wait_status(message_id, "FAILED")
    assert failed["errorCode"] == "META_OUTSIDE_24H_WINDOW"
    assert meta.message_events(message_id, 2) == ["message.sent", "message.failed"]


# -- templates -----------------------------------------------------------------------------------


def test_template_is_submitted_and_sendable_only_once_approved(meta: World) -> None:
    created = meta.api.post(
        "/v1/templates",
        meta.key,
        json={
            "name": "pedido_saiu",
            "category": "UTILITY",
            "language": "pt_BR",
            "body": "Olá {{nome}}, seu pedido {{pedido}} saiu!",
            "examples": {"nome": "Ana", "pedido": "42"},
        },
    )
    assert created.status_code == 201, created.text
    template = created.json()
    [submitted] = [
        r for r in meta.control("GET", "/_sim/requests?path=/message_templates") if r["method"] == "POST"
    ]
    assert submitted["json"]["name"] == "pedido_saiu"
    assert submitted["json"]["parameter_format"] == "NAMED"
    body = {
        "destinationNumber": CONTACT,
        "templateId": "pedido_saiu",
        "variables": {"nome": "Ana", "pedido": "42"},
    }
    assert_error(meta.send(body), 409, "TEMPLATE_NOT_APPROVED")
    meta_id = _meta_template_id(meta)
    meta.control("POST", f"/_sim/templates/{meta_id}/status", {"event": "APPROVED"})
    wait_until(lambda: _template_status(meta, template["id"]) == "APPROVED")
    message_id = meta.send_accepted(body)  # outside the window: templates are allowed
    meta.wait_status(message_id, "READ")
    sent = _sent_body(meta, message_id)["template"]
    assert sent["name"] == "pedido_saiu" and sent["language"]["code"] == "pt_BR"
    params = {
        p["parameter_name"]: p["text"]
        for c in sent["components"]
        if c["type"] == "body"
        for p in c["parameters"]
    }
    assert params == {"nome": "Ana", "pedido": "42"}


def test_rejected_template_is_not_sendable(meta: World) -> None:
    meta.api.post(
        "/v1/templates",
        meta.key,
        json={"name": "promo", "category": "MARKETING", "language": "pt_BR", "body": "Promo!"},
    )
    meta.control(
        "POST",
        f"/_sim/templates/{_meta_template_id(meta)}/status",
        {"event": "REJECTED", "reason": "INVALID_FORMAT"},
    )
    wait_until(lambda: _template_status(meta, "promo") == "REJECTED")
    assert_error(
        meta.send({"destinationNumber": CONTACT, "templateId": "promo"}), 409, "TEMPLATE_NOT_APPROVED"
    )


PEDIDO = {
    "name": "pedido_saiu",
    "category": "UTILITY",
    "language": "pt_BR",
    "body": "Olá {{nome}}, seu pedido {{pedido}} saiu!",
    "examples": {"nome": "Ana", "pedido": "42"},
}
PEDIDO_V2 = {
    "body": "Oi {{nome}}, o pedido {{pedido}} já está a caminho",
    "footer": "Loja",
    "examples": {"nome": "Ana", "pedido": "42"},
}


def _approved_template(world: World) -> tuple[str, str]:
    """Create ``PEDIDO`` through the API and let Meta approve it: (our id, Meta's id)."""
    created = world.api.post("/v1/templates", world.key, json=PEDIDO)
    assert created.status_code == 201, created.text
    meta_id = _meta_template_id(world)
    world.control("POST", f"/_sim/templates/{meta_id}/status", {"event": "APPROVED"})
    wait_until(lambda: _template_status(world, created.json()["id"]) == "APPROVED")
    return str(created.json()["id"]), meta_id


def _template_writes(world: World, meta_id: str) -> list[tuple[str, str]]:
    """(method, path) of every template write Meta received: creates, edits, deletes."""
    return [
        (r["method"], r["path"])
        for r in world.control("GET", "/_sim/requests")
        if r["method"] != "GET" and r["path"].endswith(("/message_templates", f"/{meta_id}"))
    ]


def test_updating_an_approved_template_edits_it_at_meta(meta: World) -> None:
    template_id, meta_id = _approved_template(meta)

    updated = meta.api.put(f"/v1/templates/{template_id}", meta.key, json=PEDIDO_V2)

    assert updated.status_code == 200, updated.text
    assert updated.json()["metaStatus"] == "PENDING" and updated.json()["version"] == 2
    waba = META_NUMBER["wabaId"]
    assert _template_writes(meta, meta_id) == [
        ("POST", f"/v23.0/{waba}/message_templates"),
        ("POST", f"/v23.0/{meta_id}"),
    ]
    [edit] = [r for r in meta.control("GET", f"/_sim/requests?path=/{meta_id}") if r["method"] == "POST"]
    assert [c["type"] for c in edit["json"]["components"]] == ["BODY", "FOOTER"]
    assert edit["json"]["components"][0]["text"] == PEDIDO_V2["body"]
    [at_meta] = _meta_templates(meta)
    assert (at_meta["id"], at_meta["status"]) == (meta_id, "PENDING")
    body = {
        "destinationNumber": CONTACT,
        "templateId": "pedido_saiu",
        "variables": {"nome": "Ana", "pedido": "43"},
    }
    assert_error(meta.send(body), 409, "TEMPLATE_NOT_APPROVED")

    meta.control("POST", f"/_sim/templates/{meta_id}/status", {"event": "APPROVED"})
    wait_until(lambda: _template_status(meta, template_id) == "APPROVED")
    message_id = meta.send_accepted(body)
    meta.wait_status(message_id, "READ")
    sent = _sent_body(meta, message_id)["template"]
    assert sent["name"] == "pedido_saiu"
    assert [c["type"] for c in sent["components"]] == ["body"]


def test_editing_a_template_meta_is_reviewing_is_refused_and_changes_nothing(meta: World) -> None:
    created = meta.api.post("/v1/templates", meta.key, json=PEDIDO)
    assert created.status_code == 201, created.text
    template_id, meta_id = created.json()["id"], _meta_template_id(meta)

    refused = meta.api.put(f"/v1/templates/{template_id}", meta.key, json=PEDIDO_V2)

    error = assert_error(refused, 409, "TEMPLATE_NOT_EDITABLE")
    assert "PENDING" in error["error"] and "cannot be edited" in error["error"]
    assert error["details"] == {"metaStatus": "PENDING"}
    after = meta.api.get(f"/v1/templates/{template_id}", meta.key).json()
    assert after["version"] == 1 and after["body"] == created.json()["body"]
    versions = meta.api.get(f"/v1/templates/{template_id}/versions", meta.key).json()
    assert len(versions["versions"]) == 1
    [at_meta] = _meta_templates(meta)
    assert at_meta["components"][0]["text"] == PEDIDO["body"]
    assert at_meta["id"] == meta_id


def test_deleting_a_template_deletes_it_at_meta(meta: World) -> None:
    template_id, meta_id = _approved_template(meta)

    deleted = meta.api.delete(f"/v1/templates/{template_id}", meta.key)

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"ok": True, "id": template_id}
    [call] = [
        r for r in meta.control("GET", "/_sim/requests?path=/message_templates") if r["method"] == "DELETE"
    ]
    assert call["query"] == {"name": "pedido_saiu", "hsm_id": meta_id}
    assert _meta_templates(meta) == []
    assert_error(meta.api.get(f"/v1/templates/{template_id}", meta.key), 404, "TEMPLATE_NOT_FOUND")


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"kind": "error", "code": 200}, 409, "TEMPLATE_NOT_DELETABLE"),
        ({"kind": "http", "status": 503}, 503, "UPSTREAM_ERROR"),
        ({"kind": "error", "code": 190}, 503, "PROVIDER_AUTH_FAILED"),
    ],
    ids=["refused", "unreachable", "bad-token"],
)
def test_a_template_meta_does_not_delete_is_kept(
    meta: World, fault: dict[str, Any], status: int, code: str
) -> None:
    template_id, _ = _approved_template(meta)
    meta.control("POST", "/_sim/faults", {**fault, "path": "/message_templates"})

    assert_error(meta.api.delete(f"/v1/templates/{template_id}", meta.key), status, code)

    assert _template_status(meta, template_id) == "APPROVED"
    assert len(_meta_templates(meta)) == 1


def _meta_templates(world: World) -> list[dict[str, Any]]:
    assert world.sim is not None
    listing = httpx.get(
        world.sim.url + f"/v23.0/{META_NUMBER['wabaId']}/message_templates",
        headers={"authorization": "Bearer " + META_NUMBER["accessToken"]},
    )
    return list(listing.json()["data"])


def _meta_template_id(world: World) -> str:
    return str(_meta_templates(world)[-1]["id"])


def _template_status(world: World, ref: str) -> str | None:
    body = world.api.get(f"/v1/templates/{ref}", world.key).json()
    status = body.get("metaStatus") or body.get("status")
    return str(status) if status else None


# -- callbacks are authenticated -----------------------------------------------------------------


def _stored_callbacks(world: World) -> int:
    import sqlalchemy as sa

    from zapgate.storage import tables as t

    async def count(container: Any) -> int:
        async with container.db.read() as conn:
            return int(
                (
                    await conn.execute(
                        sa.select(sa.func.count())
                        .select_from(t.provider_events)
                        .where(t.provider_events.c.kind == "callback")
                    )
                ).scalar_one()
            )

    return with_container(world.server.settings, count)


def _status_body(wamid: str, status: str) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": META_NUMBER["wabaId"],
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550000001",
                                    "phone_number_id": META_NUMBER["phoneNumberId"],
                                },
                                "statuses": [
                                    {
                                        "id": wamid,
                                        "status": status,
                                        "timestamp": "1764000000",
                                        "recipient_id": "5511988887777",
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def test_callbacks_with_a_bad_or_missing_signature_are_refused_and_change_nothing(meta: World) -> None:
    meta.open_window(CONTACT)
    meta.sim_config(dropRead=True)
    message_id = meta.send_accepted({"destinationNumber": CONTACT, "text": "x"})
    wamid = meta.wait_status(message_id, "DELIVERED")["externalMessageId"]
    before = _stored_callbacks(meta)
    raw = _status_body(wamid, "read")
    url = meta.server.url + "/webhooks/meta"
    forged = "sha256=" + hmac.new(b"wrong-secret", raw, hashlib.sha256).hexdigest()
    for headers in ({"x-hub-signature-256": forged}, {}):
        response = httpx.post(url, content=raw, headers={"content-type": "application/json", **headers})
        assert_error(response, 401, "INVALID_SIGNATURE")
    assert _stored_callbacks(meta) == before
    assert meta.message(message_id)["status"] == "DELIVERED"
    good = "sha256=" + hmac.new(META_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert httpx.post(url, content=raw, headers={"x-hub-signature-256": good}).status_code == 200
    meta.wait_status(message_id, "READ")


def test_verification_handshake(meta: World) -> None:
    result = meta.control("POST", "/_sim/verify", {"verifyToken": META_VERIFY_TOKEN})
    assert result["ok"] and result["echoed"]
    bad = httpx.get(
        meta.server.url + "/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "123"},
    )
    assert_error(bad, 403, "INVALID_VERIFY_TOKEN")


# -- errors through the whole pipeline -----------------------------------------------------------


def test_expired_token_fails_the_message_and_marks_the_number(meta: World) -> None:
    meta.open_window(CONTACT)
    meta.control(
        "POST", "/_sim/faults", {"kind": "error", "code": 190, "path": "/messages", "to": CONTACT[1:]}
    )
    message_id = meta.send_accepted({"destinationNumber": CONTACT, "text": "x"})
    assert meta.wait_status(message_id, "FAILED")["errorCode"] == "PROVIDER_AUTH_FAILED"
    number = meta.api.get(f"/v1/numbers/{meta.number['id']}", meta.tenant["key"]).json()
    assert number["health"]["code"] == "AUTH_FAILED"
    assert number["health"]["sendable"] is False


def test_throughput_limit_is_retried(meta: World) -> None:
    meta.open_window(CONTACT)
    meta.control(
        "POST", "/_sim/faults", {"kind": "error", "code": 130429, "path": "/messages", "to": CONTACT[1:]}
    )
    message_id = meta.send_accepted({"destinationNumber": CONTACT, "text": "x"})
    meta.wait_status(message_id, "READ")
    assert any(e["code"] == "RETRY_SCHEDULED" for e in meta.timeline(message_id))


def test_async_transient_failure_sends_again(meta: World) -> None:
    meta.open_window(CONTACT)
    meta.control(
        "POST",
        "/_sim/faults",
        {"kind": "async_error", "code": 131000, "path": "/messages", "to": CONTACT[1:]},
    )
    message_id = meta.send_accepted({"destinationNumber": CONTACT, "text": "again"})
    meta.wait_status(message_id, "READ", timeout=20)
    assert any(e["code"] == "ASYNC_RETRY" for e in meta.timeline(message_id))
    assert len([b for b in _graph_sends(meta) if b.get("biz_opaque_callback_data") == message_id]) == 2


# -- what goes out -------------------------------------------------------------------------------


def test_read_receipt_and_typing_go_before_the_reply(meta: World) -> None:
    meta.open_window(CONTACT)
    message_id = meta.send_accepted({"destinationNumber": CONTACT, "text": "Respondendo"})
    meta.wait_status(message_id, "READ")
    bodies = _graph_sends(meta)
    read_index = next(i for i, b in enumerate(bodies) if b.get("status") == "read")
    send_index = next(i for i, b in enumerate(bodies) if b.get("biz_opaque_callback_data") == message_id)
    assert read_index < send_index
    assert bodies[read_index]["typing_indicator"] == {"type": "text"}
    unmarked = meta.send_accepted({"destinationNumber": CONTACT, "text": "sem", "markRead": False})
    meta.wait_status(unmarked, "READ")
    assert len([b for b in _graph_sends(meta) if b.get("status") == "read"]) == 1


def test_each_mode_goes_out_as_graph_expects(meta: World) -> None:
    meta.open_window(CONTACT)
    cases = {
        "buttons": {
            "text": "Confirma?",
            "buttons": [{"type": "reply", "label": "Sim"}, {"type": "reply", "label": "Não"}],
            "header": {"type": "text", "content": "Pedido 42"},
            "footer": "Loja",
        },
        "list": {
            "text": "Escolha",
            "list": {
                "buttonText": "Opções",
                "sections": [{"title": "Frete", "rows": [{"rowId": "express", "title": "Expresso"}]}],
            },
        },
        "document": {
            "media": "https://example.com/nota.pdf",
            "mediaType": "document",
            "caption": "Nota",
            "fileName": "nota.pdf",
        },
        "voice": {"media": "https://example.com/audio.ogg", "mediaType": "audio"},
        "base64": {"media": "data:image/png;base64,iVBORw0KGgo=", "mediaType": "image"},
        "flow": {
            "text": "Agende",
            "flow": {
                "flowId": "1234567890",
                "cta": "Agendar",
                "action": "navigate",
                "screen": "START",
                "data": {"servico": "corte"},
            },
        },
    }
    ids = {name: meta.send_accepted({"destinationNumber": CONTACT, **body}) for name, body in cases.items()}
    for message_id in ids.values():
        meta.wait_status(message_id, "READ")
    buttons = _sent_body(meta, ids["buttons"])["interactive"]
    assert buttons["type"] == "button" and buttons["footer"] == {"text": "Loja"}
    assert [b["reply"]["title"] for b in buttons["action"]["buttons"]] == ["Sim", "Não"]
    listing = _sent_body(meta, ids["list"])["interactive"]
    assert listing["type"] == "list" and listing["action"]["button"] == "Opções"
    document = _sent_body(meta, ids["document"])["document"]
    assert document == {"link": "https://example.com/nota.pdf", "caption": "Nota", "filename": "nota.pdf"}
    assert _sent_body(meta, ids["voice"])["audio"]["voice"] is True
    flow = _sent_body(meta, ids["flow"])["interactive"]
    assert flow["type"] == "flow" and flow["action"]["name"] == "flow"
    parameters = flow["action"]["parameters"]
    assert parameters["flow_id"] == "1234567890" and parameters["flow_cta"] == "Agendar"
    assert parameters["flow_token"].startswith("flt_")
    assert parameters["flow_action_payload"] == {"screen": "START", "data": {"servico": "corte"}}
    uploaded = _sent_body(meta, ids["base64"])["image"]
    assert set(uploaded) == {"id"}
    assert meta.control("GET", "/_sim/requests?path=/media")


def test_pricing_is_kept_as_meta_pricing(meta: World) -> None:
    meta.open_window(CONTACT)
    message_id = meta.send_accepted({"destinationNumber": CONTACT, "text": "preço"})
    done = meta.wait_status(message_id, "READ")
    assert done["metaPricing"] and done["metaPricing"].get("category")


def test_registering_with_bad_credentials_is_refused(meta: World) -> None:
    meta.control(
        "POST",
        "/_sim/numbers",
        {
            "phoneNumberId": "100000000000002",
            "wabaId": META_NUMBER["wabaId"],
            "accessToken": "second-token",
            "displayPhoneNumber": "15550000002",
            "verifiedName": "Outra",
        },
    )
    body = {
        "name": "Outro",
        "number": "+15550000002",
        "phoneNumberId": "100000000000002",
        "wabaId": META_NUMBER["wabaId"],
        "accessToken": "wrong",
    }
    assert_error(
        meta.api.post("/v1/numbers/meta", meta.tenant["key"], json=body), 400, "PROVIDER_AUTH_FAILED"
    )
    unknown = {**body, "phoneNumberId": "100000000000009", "accessToken": "second-token"}
    assert_error(
        meta.api.post("/v1/numbers/meta", meta.tenant["key"], json=unknown), 400, "META_NUMBER_NOT_FOUND"
    )
    again = {**body, "phoneNumberId": META_NUMBER["phoneNumberId"]}
    assert_error(
        meta.api.post("/v1/numbers/meta", meta.tenant["key"], json=again), 409, "NUMBER_ALREADY_EXISTS"
    )
    missing = meta.api.post("/v1/numbers/meta", meta.tenant["key"], json={"name": "x"})
    details = assert_error(missing, 400, "VALIDATION_ERROR")["details"]
    assert {d["field"] for d in details} >= {"number", "phoneNumberId", "wabaId", "accessToken"}
    listed = meta.api.get("/v1/numbers", meta.tenant["key"]).json()
    assert len(listed) == 1
    assert "sim-meta-token" not in json.dumps(listed)
    detail = meta.api.get(f"/v1/numbers/{meta.number['id']}", meta.tenant["key"]).json()
    assert "sim-meta-token" not in json.dumps(detail)
    assert detail["meta"]["phoneNumberId"] == META_NUMBER["phoneNumberId"]


# -- inbound media and what Meta numbers do not have --------------------------------------------


def _inbound_image(world: World) -> dict[str, Any]:
    """A contact sends a photo: the message.received webhook, with its mediaId."""
    world.control(
        "POST",
        "/_sim/inbound",
        {
            "phoneNumberId": META_NUMBER["phoneNumberId"],
            "from": CONTACT.lstrip("+"),
            "type": "image",
            "name": "Ana",
        },
    )
    [hook] = world.wait_events(lambda e: e["event"] == "message.received" and "mediaId" in e["data"])
    return dict(hook["data"])


def test_inbound_media_is_downloaded_from_meta(meta: World) -> None:
    data = _inbound_image(meta)
    assert data["phoneNumberId"] == META_NUMBER["phoneNumberId"]
    r = meta.api.get(
        f"/v1/media/{data['mediaId']}", meta.key, params={"phoneNumberId": data["phoneNumberId"]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    expected = f"zapgate-sim image {data['mediaId']}".encode()
    assert body["mediaId"] == data["mediaId"] and body["mimeType"] == "image/jpeg"
    assert body["base64"] == "data:image/jpeg;base64," + base64.b64encode(expected).decode()
    # The SDK's own call reads the same.
    assert meta.sdk().media.download(data["mediaId"], data["phoneNumberId"])["base64"] == body["base64"]
    assert_error(
        meta.api.get("/v1/media/999000111", meta.key, params={"phoneNumberId": data["phoneNumberId"]}),
        404,
        "MEDIA_NOT_FOUND",
    )
    assert_error(meta.api.get(f"/v1/media/{data['mediaId']}", meta.key), 400, "VALIDATION_ERROR")
    assert_error(
        meta.api.get(f"/v1/media/{data['mediaId']}", meta.key, params={"phoneNumberId": "1234"}),
        400,
        "VALIDATION_ERROR",
    )


def test_media_past_the_limit_is_refused(make_world: Callable[..., World]) -> None:
    world = make_world("meta", media_max_bytes=8)
    data = _inbound_image(world)
    r = world.api.get(
        f"/v1/media/{data['mediaId']}", world.key, params={"phoneNumberId": data["phoneNumberId"]}
    )
    assert_error(r, 413, "MEDIA_TOO_LARGE")


def test_groups_channels_and_number_checks_are_not_for_meta(meta: World) -> None:
    for method, path, body in (
        ("GET", "/v1/groups", None),
        ("GET", "/v1/newsletters", None),
        ("GET", "/v1/messages/group", None),
        ("POST", "/v1/numbers/check", {"numbers": [CONTACT]}),
    ):
        assert_error(meta.api.request(method, path, meta.key, json=body), 400, "NOT_SUPPORTED_FOR_META")

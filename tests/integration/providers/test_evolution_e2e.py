"""Evolution API v2 and Evolution GO end to end: a number is created at the provider, paired,
sends every mode the backend supports, receives callbacks, and keeps one lifecycle."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import wait_until
from tests.contract.worlds import World
from tests.helpers import assert_error

CONTACT = "+5511988887777"
GROUP = "120363025246125486@g.us"
KINDS = ("evolution-v2", "evolution-go")


@pytest.fixture(params=KINDS)
def evo(request: pytest.FixtureRequest, make_world: Callable[..., World]) -> World:
    return make_world(request.param)


def _requests(world: World, needle: str) -> list[dict[str, Any]]:
    return [r for r in world.control("GET", f"/_sim/requests?path={needle}") if r["method"] == "POST"]


def _last(world: World, needle: str) -> dict[str, Any]:
    found = _requests(world, needle)
    assert found, f"no request to {needle}"
    body: dict[str, Any] = found[-1]["json"]
    return body


# -- connecting a number -------------------------------------------------------------------------


def test_creating_a_number_creates_the_instance_and_returns_the_pairing(evo: World) -> None:
    created = evo.number["created"]
    assert created["qrcodeBase64"].startswith("data:image/png;base64,")
    assert created["primaryLink"]["qrcodeBase64"] == created["qrcodeBase64"]
    assert created["instance"]["state"] in ("CONNECTING", "CLOSE")
    dump = json.dumps(evo.api.get(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"]).json())
    assert "instanceToken" not in dump and "callbackSecret" not in dump
    number = evo.api.get(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"]).json()
    assert number["state"] == "OPEN" and number["provider"] == evo.kind
    status = evo.api.get(f"/v1/numbers/{evo.number['id']}/status", evo.tenant["key"]).json()
    assert status["state"] == "OPEN" and status["stale"] is False and status["checkedAt"]
    assert_error(
        evo.api.get(f"/v1/numbers/{evo.number['id']}/connect", evo.tenant["key"]),
        409,
        "NUMBER_ALREADY_CONNECTED",
    )


def test_a_disconnected_number_gets_a_fresh_qr_code(evo: World) -> None:
    event = {"reason": 401} if evo.kind == "evolution-v2" else {"event": "LoggedOut"}
    evo.control("POST", f"/_sim/instances/{evo.instance}/disconnect", event)
    [gone] = evo.wait_events(lambda e: e["event"] == "number.disconnected")
    assert gone["data"]["numberId"] == evo.number["id"]
    fresh = evo.api.get(f"/v1/numbers/{evo.number['id']}/connect", evo.tenant["key"])
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["qrcodeBase64"].startswith("data:image/png;base64,")
    number = evo.api.get(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"]).json()
    # Asking for a QR code restarts the link: CONNECTING until the phone scans it.
    assert number["state"] in ("CLOSE", "CONNECTING")
    assert number["health"]["code"] == "LOGGED_OUT"


def test_provider_not_configured_is_a_clear_503(
    make_settings: Callable[..., Any],
    make_tenant: Callable[..., dict[str, Any]],
    start_server: Callable[..., Any],
    api_for: Callable[..., Any],
) -> None:
    server = start_server()
    api = api_for(server)
    tenant = make_tenant()
    for kind in KINDS:
        response = api.post(
            "/v1/numbers", tenant["key"], json={"name": "x", "number": "+5511911112222", "provider": kind}
        )
        assert_error(response, 503, "PROVIDER_NOT_CONFIGURED")
    assert api.get("/v1/numbers", tenant["key"]).json() == []


# -- callbacks are authenticated -----------------------------------------------------------------


def test_callbacks_with_a_bad_secret_are_refused(evo: World) -> None:
    path = {"evolution-v2": "/webhooks/evolution/", "evolution-go": "/webhooks/evolution-go/"}[
        evo.kind
    ] + evo.number["id"]
    body = {
        "event": "connection.update",
        "instance": evo.instance,
        "data": {"instance": evo.instance, "state": "close", "statusReason": 401},
        "instanceToken": "forged",
        "instanceName": evo.instance,
    }
    headers = {"x-zapgate-secret": "forged"} if evo.kind == "evolution-v2" else {}
    response = httpx.post(evo.server.url + path, json=body, headers=headers)
    assert_error(response, 401, "INVALID_SIGNATURE")
    unknown = httpx.post(evo.server.url + path.rsplit("/", 1)[0] + "/wn_unknown", json=body, headers=headers)
    assert_error(unknown, 401, "INVALID_SIGNATURE")
    number = evo.api.get(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"]).json()
    assert number["state"] == "OPEN"


# -- what goes out -------------------------------------------------------------------------------


def test_text_buttons_list_media_and_groups_go_out_as_the_backend_expects(evo: World) -> None:
    v2 = evo.kind == "evolution-v2"
    ids = {
        "text": evo.send_accepted({"destinationNumber": CONTACT, "text": "Olá https://loja.com"}),
        "buttons": evo.send_accepted(
            {
                "destinationNumber": CONTACT,
                "text": "Confirma?",
                "buttons": [{"type": "reply", "label": "Sim"}, {"type": "reply", "label": "Não"}],
                "footer": "Loja",
            }
        ),
        "list": evo.send_accepted(
            {
                "destinationNumber": CONTACT,
                "text": "Escolha",
                "list": {
                    "buttonText": "Opções",
                    "sections": [{"title": "Frete", "rows": [{"rowId": "express", "title": "Expresso"}]}],
                },
            }
        ),
        "image": evo.send_accepted(
            {
                "destinationNumber": CONTACT,
                "media": "https://example.com/foto.jpg",
                "mediaType": "image",
                "caption": "Foto",
            }
        ),
        "group": evo.send_accepted({"groupId": GROUP, "text": "Oi grupo"}),
    }
    for message_id in ids.values():
        evo.wait_status(message_id, "SENT")
    texts = [r["json"] for r in _requests(evo, "sendText" if v2 else "/send/text")]
    assert {"5511988887777", GROUP} <= {t["number"] for t in texts}
    buttons = _last(evo, "sendButtons" if v2 else "/send/button")
    assert [b["displayText"] for b in buttons["buttons"]] == ["Sim", "Não"]
    assert buttons["footer"] == "Loja"
    listing = _last(evo, "sendList" if v2 else "/send/list")
    assert listing["buttonText"] == "Opções"
    assert listing["sections"][0]["rows"][0]["rowId"] == "express"
    media = _last(evo, "sendMedia" if v2 else "/send/media")
    if v2:
        assert (media["mediatype"], media["media"], media["caption"]) == (
            "image",
            "https://example.com/foto.jpg",
            "Foto",
        )
    else:
        assert (media["type"], media["url"], media["caption"]) == (
            "image",
            "https://example.com/foto.jpg",
            "Foto",
        )


def test_audio_goes_out_as_a_voice_note_after_the_recording_presence(evo: World) -> None:
    message_id = evo.send_accepted(
        {"destinationNumber": CONTACT, "media": "https://example.com/audio.ogg", "mediaType": "audio"}
    )
    evo.wait_status(message_id, "SENT")
    if evo.kind == "evolution-v2":
        audio = _last(evo, "sendWhatsAppAudio")
        assert audio["audio"] == "https://example.com/audio.ogg" and audio["delay"] > 0
    else:
        paths = [
            r["path"]
            for r in evo.control("GET", "/_sim/requests")
            if r["method"] == "POST" and r["path"] in ("/message/presence", "/send/media")
        ]
        assert paths[-2:] == ["/message/presence", "/send/media"]
        assert _last(evo, "/message/presence")["isAudio"] is True
        assert _last(evo, "/send/media")["type"] == "audio"


def test_base64_media(evo: World) -> None:
    body = {"destinationNumber": CONTACT, "media": "data:image/png;base64,iVBORw0KGgo=", "mediaType": "image"}
    if evo.kind == "evolution-go":
        assert_error(evo.send(body), 400, "MEDIA_BASE64_NOT_SUPPORTED")
        return
    message_id = evo.send_accepted(body)
    evo.wait_status(message_id, "READ")
    assert _last(evo, "sendMedia")["media"] == "iVBORw0KGgo="


def test_templates_are_rendered_and_channels_are_reachable(evo: World) -> None:
    created = evo.api.post(
        "/v1/templates",
        evo.key,
        json={
            "name": "pedido_saiu",
            "category": "UTILITY",
            "language": "pt_BR",
            "body": "Olá {{nome}}, seu pedido saiu!",
            "footer": "Loja",
            "examples": {"nome": "Ana"},
        },
    )
    assert created.status_code == 201, created.text
    template_id = evo.send_accepted(
        {"destinationNumber": CONTACT, "templateId": "pedido_saiu", "variables": {"nome": "Ana"}}
    )
    channel_id = evo.send_accepted({"newsletterId": "120363111111111111@newsletter", "text": "Aviso"})
    evo.wait_status(template_id, "SENT")
    evo.wait_status(channel_id, "SENT")
    texts = [r["json"] for r in _requests(evo, "sendText" if evo.kind == "evolution-v2" else "/send/text")]
    rendered = next(t["text"] for t in texts if t["number"] == "5511988887777")
    assert "Olá Ana, seu pedido saiu!" in rendered and "Loja" in rendered
    assert any(t["number"] == "120363111111111111@newsletter" for t in texts)


# -- what comes in -------------------------------------------------------------------------------


def test_group_messages_and_lid_senders(evo: World) -> None:
    evo.control(
        "POST",
        "/_sim/inbound",
        {
            "instance": evo.instance,
            "from": "5511977776666",
            "name": "Ana",
            "type": "text",
            "text": "No grupo",
            "group": GROUP,
        },
    )
    [group] = evo.wait_events(lambda e: e["event"] == "message.group")
    assert group["data"]["groupId"] == GROUP
    assert group["data"]["from"] == "+5511977776666"
    assert group["data"]["content"] == "No grupo"
    evo.control(
        "POST",
        "/_sim/inbound",
        {"instance": evo.instance, "from": "5511966665555", "type": "text", "text": "Via LID", "lid": True},
    )
    [lid] = evo.wait_events(
        lambda e: e["event"] == "message.received" and e["data"].get("content") == "Via LID"
    )
    assert lid["data"]["from"] == "+5511966665555"


def test_button_reply_comes_back_as_text_with_its_id(evo: World) -> None:
    evo.control(
        "POST",
        "/_sim/inbound",
        {
            "instance": evo.instance,
            "from": "5511988887777",
            "type": "buttonReply",
            "buttonId": "yes",
            "text": "Sim",
        },
    )
    [reply] = evo.wait_events(
        lambda e: e["event"] in ("message.received", "message.reply") and e["data"].get("replyId") == "yes"
    )
    assert reply["data"]["content"] == "Sim"


def test_duplicate_inbound_callbacks_store_one_message(evo: World) -> None:
    evo.sim_config(duplicates=True)
    evo.control(
        "POST",
        "/_sim/inbound",
        {"instance": evo.instance, "from": "5511988887777", "type": "text", "text": "uma vez"},
    )
    evo.wait_events(lambda e: e["data"].get("content") == "uma vez")
    message_id = evo.send_accepted({"destinationNumber": CONTACT, "text": "marker"})
    evo.wait_status(message_id, "READ")
    assert len(evo.events(lambda e: e["data"].get("content") == "uma vez")) == 1


# -- health and pacing ---------------------------------------------------------------------------


def test_evolution_go_license_gate_is_a_distinct_health_state(evo: World) -> None:
    if evo.kind != "evolution-go":
        pytest.skip("the license gate is Evolution GO's")
    evo.control("POST", "/_sim/license", {"required": True})
    message_id = evo.send_accepted({"destinationNumber": CONTACT, "text": "licença"})
    wait_until(
        lambda: (
            evo.api.get(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"]).json()["health"]["code"]
            == "LICENSE_REQUIRED"
        )
    )
    assert_error(
        evo.api.get(f"/v1/numbers/{evo.number['id']}/status", evo.tenant["key"]),
        503,
        "PROVIDER_LICENSE_REQUIRED",
    )
    assert evo.message(message_id)["status"] == "QUEUED"
    evo.control("POST", "/_sim/license", {"required": False})
    evo.wait_status(message_id, "READ", timeout=20)
    health = evo.api.get(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"]).json()["health"]
    assert health["code"] == "OK"


def test_unofficial_numbers_are_paced_one_at_a_time_with_jitter(make_world: Callable[..., World]) -> None:
    world = make_world("evolution-v2", evolution_pace_per_second=5.0, evolution_pace_jitter=0.5)
    ids = [
        world.send_accepted({"destinationNumber": f"+55119888800{i:02d}", "text": str(i)}) for i in range(5)
    ]
    for message_id in ids:
        world.wait_status(message_id, "SENT")
    times = sorted(r["at"] for r in _requests(world, "sendText"))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.09 for gap in gaps), gaps  # 1/5 s * (1 - 0.5), minus timer slack
    assert max(gaps) - min(gaps) > 0.01, gaps  # jittered, not a metronome


def test_pace_is_configurable_per_number(evo: World) -> None:
    response = evo.api.patch(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"], json={"pacePerSecond": 2})
    assert response.status_code == 200, response.text
    assert response.json()["pacePerSecond"] == 2
    assert_error(
        evo.api.patch(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"], json={"pacePerSecond": 0}),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        evo.api.patch(f"/v1/numbers/{evo.number['id']}", evo.tenant["key"], json={}), 400, "EMPTY_PATCH"
    )

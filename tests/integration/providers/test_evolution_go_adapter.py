"""EvolutionGoProvider against the Evolution GO simulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from zapgate import errors
from zapgate.providers.base import (
    ConnectionUpdate,
    Group,
    InboundMessage,
    Newsletter,
    NumberCheck,
    NumberRef,
    OutboundMessage,
    StatusUpdate,
)
from zapgate.providers.evolution_go.adapter import SUBSCRIBE, EvolutionGoProvider
from zapgate.providers.evolution_go.payloads import BLANK
from zapgate.sim.common import SimThread
from zapgate.sim.evolution_go import create_app
from zapgate.testing import WebhookReceiver, free_port

KEY = "sim-evolution-go-key"
OWN = "5511900001111"
TO = "+5511988887777"
T = TypeVar("T")


@pytest.fixture(scope="module")
def running_sim() -> Iterator[SimThread]:
    # qrDelayMs 0: the QR is there when provisioning asks (the retry has its own test).
    with SimThread(
        create_app(config={"statusDelayMs": 10, "callbackRetrySeconds": 0.05, "qrDelayMs": 0})
    ) as thread:
        yield thread


def run(
    sim: SimThread,
    work: Callable[[EvolutionGoProvider], Awaitable[T]],
    *,
    url: str | None = None,
    api_key: str | None = KEY,
    timeout: float = 5.0,
    qr_wait: float = 3.0,
) -> T:
    async def main() -> T:
        provider = EvolutionGoProvider(
            base_url=url or sim.url, api_key=api_key, timeout=timeout, qr_wait=qr_wait
        )
        try:
            return await work(provider)
        finally:
            await provider.aclose()

    return asyncio.run(main())


def new_ref(credentials: dict[str, Any] | None = None) -> NumberRef:
    return NumberRef(
        id="wn_" + secrets.token_hex(4),
        number=OWN,
        provider="evolution-go",
        official=False,
        credentials=credentials,
    )


def with_credentials(ref: NumberRef, credentials: dict[str, Any]) -> NumberRef:
    return NumberRef(
        id=ref.id, number=ref.number, provider=ref.provider, official=False, credentials=credentials
    )


def outbound(
    ref: NumberRef, payload: dict[str, Any], *, destination: str = TO, kind: str = "phone"
) -> OutboundMessage:
    return OutboundMessage(
        message_id="msg_" + secrets.token_hex(4),
        number=ref,
        destination=destination,
        destination_kind=kind,
        mode=payload["mode"],
        payload=payload,
        attempt=1,
        mark_read=False,
    )


def provisioned(sim: SimThread, receiver: WebhookReceiver, *, pair: bool = True) -> NumberRef:
    ref = new_ref()
    result = run(
        sim,
        lambda p: p.provision(ref, callback_url=receiver.url, callback_secret="sec-" + secrets.token_hex(8)),
    )
    if pair:
        sim.control("POST", f"/_sim/instances/zapgate-{ref.id}/pair", {"pushName": "Loja"})
    return with_credentials(ref, result.credentials)


def requests(sim: SimThread, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sim.control("GET", f"/_sim/requests?path={path}")
    return found


# -- provisioning ---------------------------------------------------------------------------


def test_provision_creates_connects_and_pairs(sim: SimThread, receiver: WebhookReceiver) -> None:
    sim.control("POST", "/_sim/config", {"qrDelayMs": 300})  # the QR comes a moment later
    ref = new_ref()
    result = run(sim, lambda p: p.provision(ref, callback_url=receiver.url, callback_secret="sec-1"))
    creds = result.credentials
    assert (creds["instanceName"], creds["instanceToken"], creds["callbackUrl"]) == (
        f"zapgate-{ref.id}",
        "sec-1",
        receiver.url,
    )
    [row] = sim.control("GET", "/_sim/instances")
    assert creds["instanceId"] == row["id"] and row["token"] == "sec-1"
    assert result.pairing.state == "CONNECTING"
    assert (result.pairing.qrcode_base64 or "").startswith("data:image/png;base64,")
    assert re.match(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", result.pairing.pairing_code or "")
    [create] = requests(sim, "/instance/create")
    assert create["headers"]["apikey"] == KEY
    assert create["json"] == {"name": f"zapgate-{ref.id}", "token": "sec-1"}
    [connect] = requests(sim, "/instance/connect")
    assert connect["headers"]["apikey"] == "sec-1"
    assert connect["json"] == {"webhookUrl": receiver.url, "subscribe": SUBSCRIBE}
    assert len(requests(sim, "/instance/qr")) >= 2  # asked again while "no QR code available"
    [pair] = requests(sim, "/instance/pair")
    assert pair["json"] == {"phone": OWN} and pair["headers"]["apikey"] == "sec-1"


def test_provision_without_a_qr_in_time_still_gives_the_code(
    sim: SimThread, receiver: WebhookReceiver
) -> None:
    sim.control("POST", "/_sim/config", {"qrDelayMs": 10_000})
    ref = new_ref()
    result = run(
        sim, lambda p: p.provision(ref, callback_url=receiver.url, callback_secret="sec-2"), qr_wait=0.5
    )
    assert result.pairing.qrcode_base64 is None and result.pairing.pairing_code
    assert len(requests(sim, "/instance/qr")) == 2


def test_provision_replaces_a_leftover_instance(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = new_ref()
    httpx.post(
        sim.url + "/instance/create",
        headers={"apikey": KEY},
        json={"name": f"zapgate-{ref.id}", "token": "old"},
    )
    result = run(sim, lambda p: p.provision(ref, callback_url=receiver.url, callback_secret="new"))
    rows = sim.control("GET", "/_sim/instances")
    assert [(r["name"], r["token"]) for r in rows] == [(f"zapgate-{ref.id}", "new")]
    assert result.credentials["instanceId"] == rows[0]["id"]


def test_link_status_follows_the_pairing(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver, pair=False)
    assert run(sim, lambda p: p.link_status(ref)).state == "CONNECTING"
    sim.control("POST", f"/_sim/instances/zapgate-{ref.id}/pair", {"pushName": "Loja"})
    status = run(sim, lambda p: p.link_status(ref))
    assert (status.state, status.profile_name, status.health) == ("OPEN", "Loja", None)
    assert run(sim, lambda p: p.connect(ref)).state == "OPEN"
    sim.control("POST", f"/_sim/instances/zapgate-{ref.id}/disconnect", {"event": "LoggedOut"})
    closed = run(sim, lambda p: p.link_status(ref))
    assert (closed.state, closed.health) == ("CLOSE", "DISCONNECTED")


def test_connect_after_a_logout_restarts_with_our_webhook(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    sim.control("POST", f"/_sim/instances/zapgate-{ref.id}/disconnect", {"event": "LoggedOut"})
    pairing = run(sim, lambda p: p.connect(ref))
    assert pairing.state == "CONNECTING" and pairing.qrcode_base64 and pairing.pairing_code
    connects = requests(sim, "/instance/connect")
    assert len(connects) == 2
    assert connects[-1]["json"] == {"webhookUrl": receiver.url, "subscribe": SUBSCRIBE}


def test_connect_finds_the_webhook_when_credentials_lack_it(
    sim: SimThread, receiver: WebhookReceiver
) -> None:
    ref = provisioned(sim, receiver, pair=False)
    creds = {k: v for k, v in (ref.credentials or {}).items() if k != "callbackUrl"}
    run(sim, lambda p: p.connect(with_credentials(ref, creds)))
    assert requests(sim, "/instance/connect")[-1]["json"]["webhookUrl"] == receiver.url


def test_deprovision_deletes_and_tolerates_a_missing_instance(
    sim: SimThread, receiver: WebhookReceiver
) -> None:
    ref = provisioned(sim, receiver)
    run(sim, lambda p: p.deprovision(ref))
    assert sim.control("GET", "/_sim/instances") == []
    [delete] = requests(sim, "/instance/delete/")
    assert delete["headers"]["apikey"] == KEY
    run(sim, lambda p: p.deprovision(ref))  # already gone: no error


# -- sending --------------------------------------------------------------------------------


def test_send_text_returns_the_whatsmeow_id(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    result = run(sim, lambda p: p.send(outbound(ref, {"mode": "text", "text": "hi"})))
    [sent] = sim.control("GET", "/_sim/messages")
    assert result.provider_message_id == sent["id"] and sent["id"].startswith("3EB0")
    [request] = requests(sim, "/send/text")
    assert request["json"] == {"number": TO.lstrip("+"), "text": "hi"}
    assert request["headers"]["apikey"] == ref.credentials["instanceToken"]  # type: ignore[index]


def test_send_every_mode(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    group = "120363025246125888@g.us"
    messages = [
        outbound(ref, {"mode": "text", "text": "oi grupo"}, destination=group, kind="group"),
        outbound(
            ref,
            {
                "mode": "text",
                "text": "Confirma?",
                "buttons": [{"type": "reply", "label": "Sim", "id": "yes"}],
            },
        ),
        outbound(
            ref,
            {
                "mode": "list",
                "text": "Escolha",
                "list": {
                    "buttonText": "Ver",
                    "sections": [{"title": "S", "rows": [{"rowId": "r1", "title": "R1"}]}],
                },
            },
        ),
        outbound(
            ref,
            {"mode": "media", "media": "https://cdn.example/a.jpg", "mediaType": "image", "caption": "foto"},
        ),
        outbound(ref, {"mode": "media", "media": "https://cdn.example/a.mp3", "mediaType": "voice"}),
        outbound(ref, {"mode": "media", "media": "https://cdn.example/s.webp", "mediaType": "sticker"}),
        outbound(
            ref,
            {
                "mode": "template",
                "template": {
                    "body": "Olá Ana",
                    "footer": "Loja",
                    "header": {"type": "TEXT", "text": "Pedido"},
                    "buttons": [{"type": "URL", "text": "Abrir", "url": "https://x/abc"}],
                },
            },
        ),
    ]

    async def send_all(provider: EvolutionGoProvider) -> list[str]:
        return [(await provider.send(m)).provider_message_id for m in messages]

    ids = run(sim, send_all)
    sent = sim.control("GET", "/_sim/messages")
    assert ids == [m["id"] for m in sent]
    assert [m["type"] for m in sent] == [
        "ExtendedTextMessage",
        "ButtonMessage",
        "ListMessage",
        "ImageMessage",
        "AudioMessage",
        "StickerMessage",
        "ButtonMessage",
    ]
    assert sent[0]["chat"] == group
    assert sent[1]["body"]["title"] == BLANK and sent[1]["body"]["footer"] == BLANK
    paths = [
        r["path"]
        for r in sim.control("GET", "/_sim/requests")
        if r["path"].startswith(("/send/", "/message/"))
    ]
    audio = paths.index("/message/presence")
    assert paths[audio + 1] == "/send/media"  # "recording..." right before the voice note


def test_receipts_and_inbound_come_back_through_parse_callback(
    sim: SimThread, receiver: WebhookReceiver
) -> None:
    ref = provisioned(sim, receiver)
    token = ref.credentials["instanceToken"]  # type: ignore[index]
    result = run(sim, lambda p: p.send(outbound(ref, {"mode": "text", "text": "hi"})))
    sim.control(
        "POST",
        "/_sim/inbound",
        {
            "instance": f"zapgate-{ref.id}",
            "from": TO,
            "name": "Maria",
            "text": "oi",
            "replyTo": result.provider_message_id,
        },
    )
    provider = EvolutionGoProvider(base_url=None, api_key=None)

    def events() -> list[Any]:
        bodies = [
            w.json() for w in receiver.snapshot() if w.json().get("instanceName") == f"zapgate-{ref.id}"
        ]
        assert all(b["instanceToken"] == token for b in bodies)  # the callback secret
        return [e for b in bodies for e in provider.parse_callback(b)]

    receiver.wait_for(lambda _: any(isinstance(e, InboundMessage) for e in events()))
    found = events()
    statuses = [(e.provider_message_id, e.status) for e in found if isinstance(e, StatusUpdate)]
    assert statuses == [(result.provider_message_id, "DELIVERED"), (result.provider_message_id, "READ")]
    [inbound] = [e for e in found if isinstance(e, InboundMessage)]
    assert (inbound.sender, inbound.text, inbound.sender_name, inbound.quoted_provider_id) == (
        TO,
        "oi",
        "Maria",
        result.provider_message_id,
    )
    states = [e.state for e in found if isinstance(e, ConnectionUpdate)]
    assert states[0] == "CONNECTING" and states[-2:] == ["OPEN", "OPEN"]


# -- errors ---------------------------------------------------------------------------------


def send_error(sim: SimThread, ref: NumberRef, payload: dict[str, Any] | None = None, **kw: Any) -> Exception:
    message = outbound(ref, payload or {"mode": "text", "text": "hi"})
    with pytest.raises(errors.ProviderError) as caught:
        run(sim, lambda p: p.send(message), **kw)
    return caught.value


def test_send_to_a_number_not_on_whatsapp(sim: SimThread, receiver: WebhookReceiver) -> None:
    sim.control("POST", "/_sim/config", {"unknownRecipients": [TO.lstrip("+")]})
    error = send_error(sim, provisioned(sim, receiver))
    assert type(error) is errors.ProviderPermanentError
    assert error.code == "WHATSAPP_NOT_EXIST"


def test_send_before_pairing_flags_the_number(sim: SimThread, receiver: WebhookReceiver) -> None:
    error = send_error(sim, provisioned(sim, receiver, pair=False))
    assert isinstance(error, errors.ProviderTemporaryError)
    assert (error.code, error.health) == ("NUMBER_DISCONNECTED", "DISCONNECTED")


def test_send_with_a_wrong_token(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    wrong = with_credentials(ref, {**(ref.credentials or {}), "instanceToken": "nope"})
    assert type(send_error(sim, wrong)) is errors.ProviderAuthError
    assert type(send_error(sim, new_ref())) is errors.ProviderAuthError  # nothing stored


def test_media_by_data_uri_is_refused_before_any_call(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    error = send_error(
        sim, ref, {"mode": "media", "media": "data:image/png;base64,iVBOR", "mediaType": "image"}
    )
    assert error.code == "MEDIA_UNSUPPORTED"  # type: ignore[attr-defined]
    assert requests(sim, "/send/") == []


def test_media_the_server_refuses(sim: SimThread, receiver: WebhookReceiver) -> None:
    error = send_error(
        sim, provisioned(sim, receiver), {"mode": "media", "media": "https://x/a.gif", "mediaType": "image"}
    )
    assert type(error) is errors.ProviderPermanentError
    assert error.code == "MEDIA_UNSUPPORTED" and "image/gif" in str(error)


def test_license_gate(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    sim.control("POST", "/_sim/license", {"required": True})
    error = send_error(sim, ref)
    assert isinstance(error, errors.ProviderTemporaryError)
    assert (error.code, error.health) == ("DELIVERY_TIMEOUT", "LICENSE_REQUIRED")
    for call in (
        lambda p: p.link_status(ref),
        lambda p: p.connect(ref),
        lambda p: p.provision(new_ref(), callback_url=receiver.url, callback_secret="s"),
    ):
        with pytest.raises(errors.Unavailable) as caught:
            run(sim, call)
        assert caught.value.code == "PROVIDER_LICENSE_REQUIRED"
        assert "activate" in caught.value.message and "license" in caught.value.message


def test_server_errors_and_timeouts_are_temporary(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    sim.control(
        "POST",
        "/_sim/faults",
        {"kind": "http", "path": "/send/text", "status": 502, "body": {"error": "bad gateway"}},
    )
    error = send_error(sim, ref)
    assert (type(error), error.code) == (errors.ProviderTemporaryError, "DELIVERY_TIMEOUT")  # type: ignore[attr-defined]
    sim.control("POST", "/_sim/faults", {"kind": "slow", "path": "/send/text", "delayMs": 1500})
    error = send_error(sim, ref, timeout=0.3)
    assert (type(error), error.code) == (errors.ProviderTemporaryError, "DELIVERY_TIMEOUT")  # type: ignore[attr-defined]
    assert "did not answer" in str(error)


def test_disconnect_fault_becomes_number_disconnected(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    sim.control(
        "POST",
        "/_sim/faults",
        {"kind": "error", "path": "/send/text", "body": {"error": "client disconnected"}},
    )
    error = send_error(sim, ref)
    assert getattr(error, "health", None) == "DISCONNECTED"


def test_management_errors(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    sim.control(
        "POST",
        "/_sim/faults",
        {"kind": "http", "path": "/instance/status", "status": 500, "body": {"error": "boom"}},
    )
    with pytest.raises(errors.Unavailable) as caught:
        run(sim, lambda p: p.link_status(ref))
    assert caught.value.code == "UPSTREAM_ERROR"
    with pytest.raises(errors.ProviderAuthError):
        run(
            sim,
            lambda p: p.provision(new_ref(), callback_url=receiver.url, callback_secret="s"),
            api_key="wrong",
        )
    sim.control("POST", "/_sim/faults", {"kind": "slow", "path": "/instance/status", "delayMs": 1500})
    with pytest.raises(errors.Unavailable) as caught:
        run(sim, lambda p: p.link_status(ref), timeout=0.3)
    assert caught.value.code == "UPSTREAM_TIMEOUT"


def test_nobody_listening(sim: SimThread) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ref = new_ref({"instanceToken": "t", "instanceId": "i", "instanceName": "n"})
    error = send_error(sim, ref, url=url)
    assert (type(error), error.code) == (errors.ProviderTemporaryError, "DELIVERY_TIMEOUT")  # type: ignore[attr-defined]
    with pytest.raises(errors.Unavailable) as caught:
        run(sim, lambda p: p.link_status(ref), url=url)
    assert caught.value.code == "UPSTREAM_TIMEOUT"


def test_not_configured() -> None:
    async def main() -> None:
        provider = EvolutionGoProvider(base_url=None, api_key=None)
        ref = new_ref({"instanceToken": "t"})
        with pytest.raises(errors.ProviderTemporaryError) as caught:
            await provider.send(outbound(ref, {"mode": "text", "text": "hi"}))
        assert caught.value.health == "PROVIDER_NOT_CONFIGURED"
        for call in (
            provider.provision(ref, callback_url="http://x", callback_secret="s"),
            provider.connect(ref),
            provider.link_status(ref),
            provider.deprovision(ref),
        ):
            with pytest.raises(errors.Unavailable) as unavailable:
                await call
            assert unavailable.value.code == "PROVIDER_NOT_CONFIGURED"
        await provider.aclose()

    asyncio.run(main())


# -- directory -------------------------------------------------------------------------------


def test_list_groups_and_newsletters(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    groups = run(sim, lambda p: p.list_groups(ref))
    assert groups == (
        Group("120363025246125486@g.us", "Equipe Vendas", 3),
        Group("120363041234567890@g.us", "Clientes VIP", 2),
    )
    channels = run(sim, lambda p: p.list_newsletters(ref))
    assert channels == (Newsletter("120363144038483540@newsletter", "Canal de Ofertas"),)
    [call] = requests(sim, "/group/list")
    assert call["headers"]["apikey"] == ref.credentials["instanceToken"]  # type: ignore[index]


def test_check_numbers_matches_the_brazilian_ninth_digit(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    sim.control("POST", "/_sim/config", {"unknownRecipients": ["5511977776666"]})
    asked = ["+5531988887777", "+553188887777", "+5511988887777", "+551188887777", "+5511977776666"]
    checks = run(sim, lambda p: p.check_numbers(ref, asked))
    assert checks == (
        NumberCheck("+5531988887777", True, "553188887777@s.whatsapp.net"),
        NumberCheck("+553188887777", True, "553188887777@s.whatsapp.net"),
        NumberCheck("+5511988887777", True, "5511988887777@s.whatsapp.net"),
        NumberCheck("+551188887777", True, "5511988887777@s.whatsapp.net"),
        NumberCheck("+5511977776666", False),
    )
    [call] = requests(sim, "/user/check")
    assert call["json"] == {"number": asked, "formatJid": True}
    assert run(sim, lambda p: p.check_numbers(ref, [])) == ()


def test_check_numbers_in_another_order_than_the_answer(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    users = [
        {"Query": "+553188887777", "IsInWhatsapp": True, "JID": "553188887777@s.whatsapp.net"},
        {"Query": "+5511988887777", "IsInWhatsapp": False, "JID": "5511988887777@s.whatsapp.net"},
        {"Query": "+551188887777", "IsInWhatsapp": True, "JID": "5511988887777@s.whatsapp.net"},
    ]
    answer = {"message": "success", "data": {"Users": users}}
    sim.control(
        "POST", "/_sim/faults", {"kind": "http", "path": "/user/check", "status": 200, "body": answer}
    )
    asked = ["+551188887777", "+5511988887777", "+5521955554444", "+5531988887777"]
    assert run(sim, lambda p: p.check_numbers(ref, asked)) == (
        NumberCheck("+551188887777", True, "5511988887777@s.whatsapp.net"),
        NumberCheck("+5511988887777", False),
        NumberCheck("+5521955554444", False),
        NumberCheck("+5531988887777", True, "553188887777@s.whatsapp.net"),
    )


def test_directory_errors(sim: SimThread, receiver: WebhookReceiver) -> None:
    ref = provisioned(sim, receiver)
    lookup_failed = {"message": "success", "data": None}
    sim.control(
        "POST", "/_sim/faults", {"kind": "http", "path": "/user/check", "status": 200, "body": lookup_failed}
    )
    with pytest.raises(errors.Unavailable) as failed:
        run(sim, lambda p: p.check_numbers(ref, [TO]))
    assert failed.value.code == "UPSTREAM_ERROR"
    sim.control(
        "POST",
        "/_sim/faults",
        {"kind": "error", "path": "/user/check", "status": 400, "body": {"error": "invalid number"}},
    )
    with pytest.raises(errors.ValidationFailed) as refused:
        run(sim, lambda p: p.check_numbers(ref, [TO]))
    assert refused.value.code == "PROVIDER_REJECTED"
    unpaired = provisioned(sim, receiver, pair=False)
    with pytest.raises(errors.Unavailable) as no_session:
        run(sim, lambda p: p.list_groups(unpaired))
    assert no_session.value.code == "UPSTREAM_ERROR" and "no active session" in no_session.value.message
    with pytest.raises(errors.Unavailable) as down:
        run(sim, lambda p: p.list_newsletters(ref), url=f"http://127.0.0.1:{free_port()}")
    assert down.value.code == "UPSTREAM_TIMEOUT"
    with pytest.raises(errors.ProviderAuthError):
        run(sim, lambda p: p.list_groups(with_credentials(ref, {"instanceToken": "wrong"})))
    with pytest.raises(errors.Unavailable) as unconfigured:
        run(sim, lambda p: p.list_groups(ref), api_key=None)
    assert unconfigured.value.code == "PROVIDER_NOT_CONFIGURED"


def test_capabilities_and_secrets_stay_out_of_repr() -> None:
    provider = EvolutionGoProvider(
        base_url="http://evo", api_key="very-secret", pace_per_second=0.25, pace_jitter=0.4
    )
    caps = provider.capabilities(official=False)
    assert (
        caps.base64_media,
        caps.groups,
        caps.newsletters,
        caps.templates_need_approval,
        caps.enforces_24h_window,
        caps.mark_read_on_send,
    ) == (False, True, True, False, False, False)
    assert (caps.default_pace_per_second, caps.pace_jitter, caps.max_in_flight) == (0.25, 0.4, 1)
    assert caps.modes == frozenset({"template", "text", "media", "list"})
    assert provider.kind == "evolution-go" and "very-secret" not in repr(provider)

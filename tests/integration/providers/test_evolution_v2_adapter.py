"""The Evolution API v2 adapter against the simulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from zapgate import errors
from zapgate.providers.base import (
    ConnectionUpdate,
    Group,
    InboundMessage,
    NumberCheck,
    NumberRef,
    OutboundMessage,
    Pairing,
    StatusUpdate,
)
from zapgate.providers.evolution_v2.adapter import EvolutionV2Provider
from zapgate.sim.common import SimThread
from zapgate.sim.evolution_v2 import create_app
from zapgate.testing import WebhookReceiver, free_port

T = TypeVar("T")
KEY = "global-key"
DEST = "+5511988887777"
SECRET = "cb-secret-123"
PDF_B64 = base64.b64encode(b"%PDF-1.4 fake pdf").decode()


@pytest.fixture(scope="module")
def running_sim() -> Iterator[SimThread]:
    with SimThread(
        create_app(api_key=KEY, config={"statusDelayMs": 10, "callbackRetrySeconds": 0.05})
    ) as thread:
        yield thread


def ref(credentials: dict[str, Any] | None = None, number_id: str = "num_1") -> NumberRef:
    return NumberRef(
        id=number_id, number="5511900001111", provider="evolution-v2", official=False, credentials=credentials
    )


def run(sim: SimThread, scenario: Callable[[EvolutionV2Provider], Awaitable[T]], **options: Any) -> T:
    async def main() -> T:
        provider = EvolutionV2Provider(
            **{"base_url": sim.url, "api_key": KEY, "audio_presence_ms": 20, **options}
        )
        try:
            return await scenario(provider)
        finally:
            await provider.aclose()

    return asyncio.run(main())


def provision(sim: SimThread, receiver: WebhookReceiver, *, pair: bool = True) -> NumberRef:
    async def scenario(provider: EvolutionV2Provider) -> dict[str, Any]:
        made = await provider.provision(ref(), callback_url=receiver.url, callback_secret=SECRET)
        return made.credentials

    credentials = run(sim, scenario)
    if pair:
        sim.control("POST", f"/_sim/instances/{credentials['instanceName']}/pair", {"profileName": "Loja 1"})
    return ref(credentials)


def outbound(
    number: NumberRef, payload: dict[str, Any], destination: str = DEST, kind: str = "phone"
) -> OutboundMessage:
    return OutboundMessage(
        message_id="msg_1",
        number=number,
        destination=destination,
        destination_kind=kind,
        mode=payload["mode"],
        payload=payload,
        attempt=1,
        mark_read=False,
    )


def send(sim: SimThread, number: NumberRef, payload: dict[str, Any], **kw: Any) -> str:
    async def scenario(provider: EvolutionV2Provider) -> str:
        return (await provider.send(outbound(number, payload, **kw))).provider_message_id

    return run(sim, scenario)


def send_error(
    sim: SimThread, number: NumberRef, payload: dict[str, Any] | None = None, **options: Any
) -> errors.ProviderError:
    async def scenario(provider: EvolutionV2Provider) -> errors.ProviderError:
        with pytest.raises(errors.ProviderError) as caught:
            await provider.send(outbound(number, payload or {"mode": "text", "text": "hi"}))
        return caught.value

    return run(sim, scenario, **options)


def parsed_callbacks(receiver: WebhookReceiver, predicate: Callable[[list[Any]], bool]) -> list[Any]:
    parser = EvolutionV2Provider(base_url=None, api_key=None)

    def events() -> list[Any]:
        return [e for r in receiver.snapshot() for e in parser.parse_callback(r.json())]

    receiver.wait_for(lambda _: predicate(events()), timeout=5)
    return events()


def sent_records(sim: SimThread) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = sim.control("GET", "/_sim/messages")
    return records


# -- provisioning ----------------------------------------------------------------------------


def test_provision_creates_the_instance_with_our_webhook(sim: SimThread, receiver: WebhookReceiver) -> None:
    async def scenario(provider: EvolutionV2Provider) -> Any:
        return await provider.provision(ref(), callback_url=receiver.url, callback_secret=SECRET)

    made = run(sim, scenario)
    [instance] = sim.control("GET", "/_sim/instances")
    assert made.credentials == {
        "instanceName": "zapgate-num_1",
        "instanceToken": instance["token"],
        "callbackSecret": SECRET,
    }
    assert made.pairing.state == "CONNECTING"
    assert made.pairing.qrcode_base64 == instance["qrcode"]["base64"]
    assert made.pairing.pairing_code == instance["qrcode"]["pairingCode"]
    assert made.pairing.pairing_code and len(made.pairing.pairing_code) == 8
    webhook = instance["webhook"]
    assert webhook["url"] == receiver.url and webhook["headers"] == {"x-zapgate-secret": SECRET}
    assert webhook["webhookBase64"] is True and webhook["webhookByEvents"] is False
    assert set(webhook["events"]) == {
        "QRCODE_UPDATED",
        "CONNECTION_UPDATE",
        "MESSAGES_UPSERT",
        "MESSAGES_UPDATE",
        "SEND_MESSAGE",
    }
    [create] = sim.control("GET", "/_sim/requests?path=/instance/create")
    assert create["headers"]["apikey"] == KEY
    assert create["json"]["integration"] == "WHATSAPP-BAILEYS" and create["json"]["qrcode"]
    assert create["json"]["number"] == "5511900001111"
    # The QR reaches Zapgate's callback with the secret header, and parses.
    qr = parsed_callbacks(receiver, lambda es: any(e.qrcode_base64 for e in es))
    assert qr[-1].route == "zapgate-num_1"
    assert receiver.snapshot()[0].headers["x-zapgate-secret"] == SECRET


def test_provision_twice_is_refused(sim: SimThread, receiver: WebhookReceiver) -> None:
    provision(sim, receiver, pair=False)

    async def scenario(provider: EvolutionV2Provider) -> None:
        await provider.provision(ref(), callback_url=receiver.url, callback_secret=SECRET)

    with pytest.raises(errors.ValidationFailed, match="already in use"):
        run(sim, scenario)


def test_connect_link_status_and_deprovision(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver, pair=False)
    name = (number.credentials or {})["instanceName"]

    async def states(provider: EvolutionV2Provider) -> list[Any]:
        out: list[Any] = [await provider.link_status(number), await provider.connect(number)]
        sim.control("POST", f"/_sim/instances/{name}/pair")
        out += [await provider.link_status(number), await provider.connect(number)]
        sim.control("POST", f"/_sim/instances/{name}/disconnect", {"reason": 401})
        out += [await provider.link_status(number), await provider.connect(number)]
        await provider.deprovision(number)
        await provider.deprovision(number)  # already gone: fine
        out.append(await provider.link_status(number))
        return out

    connecting, qr, opened, open_pairing, closed, fresh, missing = run(sim, states)
    assert connecting.state == "CONNECTING"
    assert qr.state == "CONNECTING" and qr.qrcode_base64.startswith("data:image/png;base64,")
    assert opened.state == "OPEN" and open_pairing == Pairing("OPEN")
    assert closed.state == "CLOSE"
    assert fresh.state == "CONNECTING" and fresh.qrcode_base64 != qr.qrcode_base64
    assert fresh.pairing_code and len(fresh.pairing_code) == 8  # ?number= asks for one
    assert (missing.state, missing.health) == ("CLOSE", "INSTANCE_MISSING")
    assert sim.control("GET", "/_sim/instances") == []


def test_refused_instance_reports_qr_limit(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver, pair=False)
    sim.control("POST", "/_sim/config", {"qrcodeLimit": 1})
    sim.control("POST", "/_sim/instances/zapgate-num_1/qr")

    async def scenario(provider: EvolutionV2Provider) -> Any:
        return await provider.link_status(number)

    status = run(sim, scenario)
    assert (status.state, status.health) == ("CLOSE", "QR_LIMIT")
    events = parsed_callbacks(
        receiver, lambda es: any(isinstance(e, ConnectionUpdate) and e.health == "QR_LIMIT" for e in es)
    )
    assert any(e.state == "CLOSE" for e in events if isinstance(e, ConnectionUpdate))


@pytest.mark.parametrize("method", ["provision", "connect", "link_status", "deprovision"])
def test_management_without_configuration(method: str) -> None:
    async def main() -> None:
        provider = EvolutionV2Provider(base_url=None, api_key="k")
        call = getattr(provider, method)
        kwargs = {"callback_url": "http://x", "callback_secret": "s"} if method == "provision" else {}
        with pytest.raises(errors.Unavailable) as caught:
            await call(ref(), **kwargs)
        assert caught.value.code == "PROVIDER_NOT_CONFIGURED"

    asyncio.run(main())


def test_management_errors_are_translated(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver, pair=False)

    async def wrong_key(provider: EvolutionV2Provider) -> None:
        await provider.link_status(number)

    with pytest.raises(errors.ProviderAuthError):
        run(sim, wrong_key, api_key="nope")
    sim.control("POST", "/_sim/faults", {"kind": "http", "path": "/instance/connect", "status": 502})
    with pytest.raises(errors.Unavailable) as upstream:
        run(sim, lambda p: p.connect(number))
    assert upstream.value.code == "UPSTREAM_ERROR"
    with pytest.raises(errors.Unavailable) as unreachable:
        run(sim, lambda p: p.connect(number), base_url=f"http://127.0.0.1:{free_port()}")
    assert unreachable.value.code == "UPSTREAM_TIMEOUT"
    assert KEY not in str(unreachable.value)


# -- sending ---------------------------------------------------------------------------------


def test_send_text_uses_the_instance_token_and_receipts_parse(
    sim: SimThread, receiver: WebhookReceiver
) -> None:
    number = provision(sim, receiver)
    key_id = send(sim, number, {"mode": "text", "text": "Olá https://x.com"})
    [record] = sent_records(sim)
    assert record["id"] == key_id and record["endpoint"] == "sendText"
    assert record["body"] == {"number": "5511988887777", "text": "Olá https://x.com", "linkPreview": True}
    [request] = sim.control("GET", "/_sim/requests?path=/message/sendText")
    assert request["headers"]["apikey"] == (number.credentials or {})["instanceToken"]
    events = parsed_callbacks(
        receiver,
        lambda es: sum(isinstance(e, StatusUpdate) and e.provider_message_id == key_id for e in es) >= 3,
    )
    assert [e.status for e in events if isinstance(e, StatusUpdate)] == ["SENT", "DELIVERED", "READ"]
    assert all(e.route == "zapgate-num_1" for e in events if isinstance(e, StatusUpdate))


def test_send_falls_back_to_the_global_key(sim: SimThread, receiver: WebhookReceiver) -> None:
    provision(sim, receiver)
    send(sim, ref({"instanceName": "zapgate-num_1"}), {"mode": "text", "text": "hi"})
    [request] = sim.control("GET", "/_sim/requests?path=/message/sendText")
    assert request["headers"]["apikey"] == KEY


@pytest.mark.parametrize(
    ("payload", "endpoint", "destination", "kind"),
    [
        (
            {
                "mode": "media",
                "media": "data:application/pdf;base64," + PDF_B64,
                "mediaType": "document",
                "caption": "nota",
            },
            "sendMedia",
            DEST,
            "phone",
        ),
        (
            {"mode": "media", "media": "https://x.test/a.jpg", "mediaType": "image"},
            "sendMedia",
            DEST,
            "phone",
        ),
        (
            {"mode": "media", "media": "https://x.test/a.ogg", "mediaType": "voice"},
            "sendWhatsAppAudio",
            DEST,
            "phone",
        ),
        (
            {"mode": "media", "media": "https://x.test/s.webp", "mediaType": "sticker"},
            "sendSticker",
            DEST,
            "phone",
        ),
        (
            {
                "mode": "text",
                "text": "Ok?",
                "footer": "f",
                "buttons": [{"type": "reply", "label": "Yes", "id": "yes"}],
            },
            "sendButtons",
            DEST,
            "phone",
        ),
        (
            {
                "mode": "list",
                "text": "Choose",
                "list": {
                    "buttonText": "Open",
                    "sections": [{"title": "S", "rows": [{"rowId": "r1", "title": "R1"}]}],
                },
            },
            "sendList",
            DEST,
            "phone",
        ),
        (
            {
                "mode": "template",
                "template": {
                    "body": "Seu pedido 42 saiu",
                    "header": {"type": "IMAGE", "url": "https://x.test/h.jpg"},
                    "footer": "Loja",
                    "buttons": [],
                },
            },
            "sendMedia",
            DEST,
            "phone",
        ),
        ({"mode": "text", "text": "to the group"}, "sendText", "120363025246125486@g.us", "group"),
        (
            {"mode": "text", "text": "to the channel"},
            "sendText",
            "120363198765432101@newsletter",
            "newsletter",
        ),
    ],
)
def test_every_mode_is_accepted_by_evolution(
    sim: SimThread,
    receiver: WebhookReceiver,
    payload: dict[str, Any],
    endpoint: str,
    destination: str,
    kind: str,
) -> None:
    number = provision(sim, receiver)
    key_id = send(sim, number, payload, destination=destination, kind=kind)
    [record] = sent_records(sim)
    assert (record["id"], record["endpoint"]) == (key_id, endpoint)
    assert record["response"]["key"]["remoteJid"].startswith(destination.lstrip("+"))


def test_voice_note_shows_recording_for_the_configured_time(
    sim: SimThread, receiver: WebhookReceiver
) -> None:
    number = provision(sim, receiver)
    send(sim, number, {"mode": "media", "media": "https://x.test/a.ogg", "mediaType": "audio"})
    [record] = sent_records(sim)
    assert record["body"]["delay"] == 20
    assert record["statuses"][-1] == "PLAYED"


def test_not_configured_send_is_temporary() -> None:
    async def main() -> None:
        provider = EvolutionV2Provider(base_url="http://127.0.0.1:1", api_key=None)
        with pytest.raises(errors.ProviderTemporaryError) as caught:
            await provider.send(outbound(ref(), {"mode": "text", "text": "x"}))
        assert (caught.value.code, caught.value.health) == ("DELIVERY_TIMEOUT", "PROVIDER_NOT_CONFIGURED")

    asyncio.run(main())


def test_send_errors(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver, pair=False)
    closed = send_error(sim, number)
    assert isinstance(closed, errors.ProviderTemporaryError)
    assert (closed.code, closed.health) == ("NUMBER_DISCONNECTED", "DISCONNECTED")
    sim.control("POST", "/_sim/instances/zapgate-num_1/pair")
    sim.control("POST", "/_sim/config", {"unknownRecipients": [DEST]})
    unknown = send_error(sim, number)
    assert type(unknown) is errors.ProviderPermanentError
    assert unknown.code == "WHATSAPP_NOT_EXIST"
    wrong_token = send_error(sim, ref({"instanceName": "zapgate-num_1", "instanceToken": "bad"}))
    assert isinstance(wrong_token, errors.ProviderAuthError)
    rejected = send_error(sim, number, {"mode": "text", "text": "   "})
    assert (type(rejected), rejected.code) == (errors.ProviderPermanentError, "PROVIDER_REJECTED")
    assert "Text is required" in rejected.message


def test_missing_instance_and_transport_errors(sim: SimThread, receiver: WebhookReceiver) -> None:
    missing = send_error(sim, ref({"instanceName": "zapgate-gone"}))
    assert isinstance(missing, errors.ProviderTemporaryError)
    assert (missing.code, missing.health) == ("NUMBER_DISCONNECTED", "INSTANCE_MISSING")
    number = provision(sim, receiver)
    sim.control("POST", "/_sim/faults", {"kind": "slow", "path": "/message/sendText", "delayMs": 500})
    slow = send_error(sim, number, timeout=0.1)
    assert isinstance(slow, errors.ProviderTemporaryError) and slow.code == "DELIVERY_TIMEOUT"
    sim.control(
        "POST",
        "/_sim/faults",
        {"kind": "http", "path": "/message/sendText", "status": 502, "body": {"error": "bad gateway"}},
    )
    gateway = send_error(sim, number)
    assert isinstance(gateway, errors.ProviderTemporaryError) and gateway.code == "DELIVERY_TIMEOUT"
    down = send_error(sim, number, base_url=f"http://127.0.0.1:{free_port()}")
    assert isinstance(down, errors.ProviderTemporaryError)
    assert KEY not in down.message


def test_receipt_error_parses_as_failed(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver)
    sim.control("POST", "/_sim/config", {"errorRecipients": [DEST]})
    key_id = send(sim, number, {"mode": "text", "text": "hi"})
    events = parsed_callbacks(
        receiver, lambda es: any(isinstance(e, StatusUpdate) and e.status == "FAILED" for e in es)
    )
    # (A late receipt of an earlier test's send may arrive first: pick this send's failure.)
    failed = next(e for e in events if isinstance(e, StatusUpdate) and e.status == "FAILED")
    assert (failed.provider_message_id, failed.code) == (key_id, "PROVIDER_REJECTED")


# -- callbacks end to end --------------------------------------------------------------------


def test_inbound_messages_parse(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver)
    ours = send(
        sim,
        number,
        {"mode": "text", "text": "Confirm?", "buttons": [{"type": "reply", "label": "Yes", "id": "yes"}]},
    )
    injected = [
        sim.control("POST", "/_sim/inbound", {"instance": "zapgate-num_1", "from": DEST, **spec})["id"]
        for spec in (
            {"name": "Maria", "text": "Oi", "replyTo": ours},
            {"type": "buttonReply", "buttonId": "yes", "text": "Yes", "replyTo": ours},
            {"type": "image", "media": {"caption": "foto", "base64": PDF_B64}},
            {"group": "120363025246125486@g.us", "text": "grupo"},
            {"lid": True, "text": "lid"},
            {"type": "reaction", "emoji": "👍", "reactTo": ours},
        )
    ]
    events = parsed_callbacks(
        receiver, lambda es: sum(isinstance(e, InboundMessage) for e in es) >= len(injected)
    )
    by_id = {e.provider_message_id: e for e in events if isinstance(e, InboundMessage)}
    text, button, image, group, lid, reaction = (by_id[i] for i in injected)
    assert (text.sender, text.sender_name, text.text, text.quoted_provider_id) == (DEST, "Maria", "Oi", ours)
    assert (button.message_type, button.reply_id, button.quoted_provider_id) == ("interactive", "yes", ours)
    assert image.media is not None and image.media.base64 == PDF_B64
    assert (image.message_type, image.text) == ("image", "foto")
    assert (group.chat_kind, group.chat_id, group.sender) == ("group", "120363025246125486@g.us", DEST)
    assert lid.sender == DEST and lid.sender_lid and lid.sender_lid.endswith("@lid")
    assert (reaction.message_type, reaction.reaction_to, reaction.text) == ("reaction", ours, "👍")
    opened = [e for e in events if isinstance(e, ConnectionUpdate) and e.state == "OPEN"]
    assert opened and opened[0].profile_name == "Loja 1"


def test_capabilities() -> None:
    caps = EvolutionV2Provider(
        base_url=None, api_key=None, pace_per_second=0.25, pace_jitter=0.4
    ).capabilities(official=False)
    assert (caps.base64_media, caps.groups, caps.newsletters) == (True, True, True)
    assert not (caps.templates_need_approval or caps.enforces_24h_window or caps.mark_read_on_send)
    assert (caps.default_pace_per_second, caps.pace_jitter, caps.max_in_flight) == (0.25, 0.4, 1)
    assert caps.modes == frozenset({"template", "text", "media", "list"})


def test_repr_hides_the_key() -> None:
    assert "secret-key" not in repr(EvolutionV2Provider(base_url="http://x", api_key="secret-key"))


# -- directory and inbound media -------------------------------------------------------------


def test_list_groups(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver)
    groups = run(sim, lambda p: p.list_groups(number))
    assert groups == (
        Group("120363025246125486@g.us", "Equipe Vendas", 42),
        Group("120363041234567890@g.us", "Clientes VIP", 7),
    )
    [call] = sim.control("GET", "/_sim/requests?path=/group/fetchAllGroups/zapgate-num_1")
    assert call["query"] == {"getParticipants": "false"}
    assert call["headers"]["apikey"] == number.credentials["instanceToken"]  # type: ignore[index]


def test_list_groups_of_a_closed_session_is_unavailable(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver, pair=False)
    with pytest.raises(errors.Unavailable) as caught:
        run(sim, lambda p: p.list_groups(number))
    assert caught.value.code == "UPSTREAM_ERROR"


def test_newsletters_are_not_supported() -> None:
    async def main() -> None:
        provider = EvolutionV2Provider(base_url="http://127.0.0.1:9", api_key=KEY)
        with pytest.raises(errors.NotSupported) as caught:
            await provider.list_newsletters(ref())
        assert caught.value.code == "NOT_SUPPORTED"

    asyncio.run(main())


def test_check_numbers_follows_the_brazilian_ninth_digit(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver)
    sim.control("POST", "/_sim/config", {"unknownRecipients": ["5511977776666"]})
    asked = ["+5531988887777", "+553188887777", "+5511988887777", "+551188887777", "+5511977776666"]
    checks = run(sim, lambda p: p.check_numbers(number, asked))
    assert checks == (
        NumberCheck("+5531988887777", True, "553188887777@s.whatsapp.net"),
        NumberCheck("+553188887777", True, "553188887777@s.whatsapp.net"),
        NumberCheck("+5511988887777", True, "5511988887777@s.whatsapp.net"),
        NumberCheck("+551188887777", True, "5511988887777@s.whatsapp.net"),
        NumberCheck("+5511977776666", False),
    )
    [call] = sim.control("GET", "/_sim/requests?path=/chat/whatsappNumbers/zapgate-num_1")
    assert call["json"] == {"numbers": [n.lstrip("+") for n in asked]}
    assert run(sim, lambda p: p.check_numbers(number, [])) == ()


def test_check_numbers_errors(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver)
    sim.control(
        "POST",
        "/_sim/faults",
        {"kind": "error", "path": "/chat/whatsappNumbers/zapgate-num_1", "body": {"message": "bad"}},
    )
    with pytest.raises(errors.ValidationFailed) as refused:
        run(sim, lambda p: p.check_numbers(number, [DEST]))
    assert refused.value.code == "PROVIDER_REJECTED"
    with pytest.raises(errors.Unavailable) as down:
        run(sim, lambda p: p.check_numbers(number, [DEST]), base_url=f"http://127.0.0.1:{free_port()}")
    assert down.value.code == "UPSTREAM_TIMEOUT"
    with pytest.raises(errors.Unavailable) as unconfigured:
        run(sim, lambda p: p.check_numbers(number, [DEST]), api_key=None)
    assert unconfigured.value.code == "PROVIDER_NOT_CONFIGURED"


def inbound_media(sim: SimThread, receiver: WebhookReceiver, media: dict[str, Any]) -> tuple[NumberRef, str]:
    """An inbound image; (the number, the mediaId its parsed callback carries)."""
    number = provision(sim, receiver)
    key_id = sim.control(
        "POST", "/_sim/inbound", {"instance": "zapgate-num_1", "from": DEST, "type": "image", "media": media}
    )["id"]
    events = parsed_callbacks(
        receiver,
        lambda es: any(isinstance(e, InboundMessage) and e.provider_message_id == key_id for e in es),
    )
    [message] = [e for e in events if isinstance(e, InboundMessage) and e.provider_message_id == key_id]
    assert message.media is not None and message.media.id == key_id
    return number, key_id


def test_download_media_of_an_inbound_message(sim: SimThread, receiver: WebhookReceiver) -> None:
    content = b"\xff\xd8\xff\xe0 fake jpeg"
    number, media_id = inbound_media(
        sim,
        receiver,
        {"caption": "foto", "mimetype": "image/jpeg", "base64": base64.b64encode(content).decode()},
    )
    media = run(sim, lambda p: p.download_media(number, media_id, max_bytes=len(content)))
    assert (media.content, media.mime_type, media.file_name) == (content, "image/jpeg", f"{media_id}.jpeg")
    [call] = sim.control("GET", "/_sim/requests?path=/chat/getBase64FromMediaMessage/zapgate-num_1")
    assert call["json"] == {"message": {"key": {"id": media_id}}, "convertToMp4": False}


def test_download_media_past_the_limit(sim: SimThread, receiver: WebhookReceiver) -> None:
    number, media_id = inbound_media(sim, receiver, {"base64": base64.b64encode(b"x" * 2000).decode()})
    with pytest.raises(errors.PayloadTooLarge) as caught:
        run(sim, lambda p: p.download_media(number, media_id, max_bytes=1999))
    assert caught.value.code == "MEDIA_TOO_LARGE"
    assert len(run(sim, lambda p: p.download_media(number, media_id, max_bytes=2000)).content) == 2000


def test_download_media_not_found_and_errors(sim: SimThread, receiver: WebhookReceiver) -> None:
    number = provision(sim, receiver)
    with pytest.raises(errors.NotFound) as missing:
        run(sim, lambda p: p.download_media(number, "3EB0UNKNOWN", max_bytes=1000))
    assert missing.value.code == "MEDIA_NOT_FOUND"
    path = "/chat/getBase64FromMediaMessage/zapgate-num_1"
    sim.control("POST", "/_sim/faults", {"kind": "http", "path": path, "status": 500})
    with pytest.raises(errors.Unavailable) as upstream:
        run(sim, lambda p: p.download_media(number, "3EB0UNKNOWN", max_bytes=1000))
    assert upstream.value.code == "UPSTREAM_ERROR"
    sim.control(
        "POST", "/_sim/faults", {"kind": "http", "path": path, "status": 201, "body": {"base64": None}}
    )
    with pytest.raises(errors.Unavailable):
        run(sim, lambda p: p.download_media(number, "3EB0UNKNOWN", max_bytes=1000))

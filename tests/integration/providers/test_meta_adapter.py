"""MetaProvider against the Meta simulator over loopback HTTP.

Each send is checked three ways: the adapter's result, the exact request the simulator received
(``GET /_sim/requests``), and the simulator's own verdict (``GET /_sim/messages``: accepted
without an asynchronous failure). Status callbacks go to a loopback receiver and are read back
through the adapter's signature check and callback parser.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from zapgate import errors
from zapgate.providers.base import (
    InboundMessage,
    NumberProfile,
    NumberRef,
    OutboundMessage,
    ProviderEvent,
    SendResult,
    StatusUpdate,
    TemplateSubmission,
    TemplateUpdate,
)
from zapgate.providers.meta import GRAPH_API_VERSION, MetaProvider, payloads, signature, templates
from zapgate.sim.common import SimThread
from zapgate.sim.meta import create_app
from zapgate.testing import WebhookReceiver, free_port

PNID, WABA, TOKEN, SECRET = "100000000000001", "200000000000001", "sim-meta-token", "sim-app-secret"
CONTACT = "+5511988887777"
CREDENTIALS = {"phoneNumberId": PNID, "wabaId": WABA, "accessToken": TOKEN, "appSecret": SECRET}
NUMBER = NumberRef(
    id="num_meta", number="15550000001", provider="meta", official=True, credentials=CREDENTIALS
)
MESSAGES_PATH = f"/{GRAPH_API_VERSION}/{PNID}/messages"
JPEG_BYTES = b"\xff\xd8\xff\xe0" + bytes(range(64))

OUR_TEMPLATE: dict[str, Any] = {
    "name": "pedido_saiu",
    "language": "pt_BR",
    "category": "UTILITY",
    "content": {
        "header": {"type": "TEXT", "text": "Pedido {{pedido}}"},
        "body": "Olá {{nome}}, seu pedido {{pedido}} saiu",
        "footer": "Loja",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Ok"},
            {"type": "URL", "text": "Abrir", "url": "https://x.example/{{link}}"},
        ],
        "examples": {"nome": "Ana", "pedido": "42", "link": "abc"},
    },
}
TEMPLATE_PAYLOAD: dict[str, Any] = {
    "mode": "template",
    "template": {
        "id": "tp_1",
        "name": "pedido_saiu",
        "language": "pt_BR",
        "category": "UTILITY",
        "parameters": {"pedido": "42", "nome": "Ana", "link": "abc"},
        "body": "Olá Ana, seu pedido 42 saiu",
        "header": {"type": "TEXT", "text": "Pedido 42"},
        "footer": "Loja",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Ok"},
            {"type": "URL", "text": "Abrir", "url": "https://x.example/abc"},
        ],
        "placement": {"header": ["pedido"], "body": ["nome", "pedido"], "buttons": {"1": ["link"]}},
    },
}


# -- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def running_sim(receiver: WebhookReceiver) -> Iterator[SimThread]:
    app = create_app(
        callback_url=receiver.url,
        app_secret=SECRET,
        config={"statusDelayMs": 10, "callbackRetrySeconds": 0.05},
    )
    with SimThread(app) as thread:
        yield thread


def outbound(
    payload: dict[str, Any],
    *,
    message_id: str = "msg_1",
    attempt: int = 1,
    mark_read_id: str | None = None,
    number: NumberRef = NUMBER,
) -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        number=number,
        destination=CONTACT,
        destination_kind="phone",
        mode=payload["mode"],
        payload=payload,
        attempt=attempt,
        mark_read=mark_read_id is not None,
        mark_read_message_id=mark_read_id,
    )


def run(
    sim: SimThread, call: Callable[[MetaProvider], Any], *, timeout: float = 5.0, graph_url: str | None = None
) -> Any:
    async def go() -> Any:
        provider = MetaProvider(graph_url=graph_url or sim.url, timeout=timeout)
        try:
            return await call(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def send(sim: SimThread, message: OutboundMessage, **kwargs: Any) -> SendResult:
    result: SendResult = run(sim, lambda p: p.send(message), **kwargs)
    return result


def requests(sim: SimThread, path: str = MESSAGES_PATH) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sim.control("GET", f"/_sim/requests?path={path}")
    return [r for r in found if r["path"] == path]


def open_window(sim: SimThread, text: str = "oi") -> str:
    """The contact writes first (opens the 24 h window); returns the inbound wamid."""
    answer = sim.control(
        "POST", "/_sim/inbound", {"from": CONTACT.lstrip("+"), "name": "Ana", "type": "text", "text": text}
    )
    return str(answer["id"])


def sim_message(sim: SimThread, wamid: str) -> dict[str, Any]:
    [message] = sim.control("GET", f"/_sim/messages?id={wamid}")
    return dict(message)


def events(
    receiver: WebhookReceiver, done: Callable[[list[ProviderEvent]], bool], timeout: float = 5.0
) -> list[ProviderEvent]:
    """Callbacks received so far, each signature-checked and parsed by the adapter, once
    ``done`` holds for them."""
    provider = MetaProvider(graph_url="http://127.0.0.1:1")
    parsed: list[ProviderEvent] = []

    def check(hooks: list[Any]) -> bool:
        parsed.clear()
        for hook in hooks:
            assert signature.verify([SECRET], hook.body, hook.headers.get("x-hub-signature-256"))
            parsed.extend(provider.parse_callback(hook.json()))
        return done(parsed)

    receiver.wait_for(check, timeout=timeout)
    return parsed


def statuses_of(found: list[ProviderEvent], wamid: str) -> list[StatusUpdate]:
    return [e for e in found if isinstance(e, StatusUpdate) and e.provider_message_id == wamid]


# -- sending every mode ----------------------------------------------------------------------


def test_text_send_request_and_its_status_callbacks(sim: SimThread, receiver: WebhookReceiver) -> None:
    open_window(sim)
    result = send(sim, outbound({"mode": "text", "text": "Veja https://x.example/p"}, message_id="msg_text"))

    assert result.provider_message_id.startswith("wamid.")
    assert result.receipts == ()
    [request] = requests(sim)
    assert request["method"] == "POST"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["content-type"].startswith("application/json")
    assert request["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511988887777",
        "biz_opaque_callback_data": "msg_text",
        "type": "text",
        "text": {"body": "Veja https://x.example/p", "preview_url": True},
    }

    wamid = result.provider_message_id
    found = events(
        receiver, lambda evs: [s.status for s in statuses_of(evs, wamid)] == ["SENT", "DELIVERED", "READ"]
    )
    sent, delivered, read = statuses_of(found, wamid)
    assert {s.our_message_id for s in (sent, delivered, read)} == {"msg_text"}
    assert {s.route for s in (sent, delivered, read)} == {PNID}
    assert sent.pricing is not None and sent.pricing["category"] == "service"
    assert all(s.at_ms and s.at_ms > 1_600_000_000_000 for s in (sent, delivered, read))
    [inbound] = [e for e in found if isinstance(e, InboundMessage)]
    assert (inbound.sender, inbound.text, inbound.sender_name, inbound.route) == (CONTACT, "oi", "Ana", PNID)


MODES: list[tuple[str, dict[str, Any]]] = [
    (
        "reply-buttons",
        {
            "mode": "text",
            "text": "Confirma?",
            "footer": "Responda em 24h",
            "header": {"type": "image", "content": "https://x.example/h.jpg"},
            "buttons": [{"type": "reply", "label": "Sim", "id": "yes"}, {"type": "reply", "label": "Não"}],
        },
    ),
    (
        "cta-url",
        {
            "mode": "text",
            "text": "Rastreie",
            "buttons": [{"type": "url", "label": "Abrir", "url": "https://x.example/t"}],
        },
    ),
    (
        "list",
        {
            "mode": "list",
            "text": "Escolha",
            "list": {
                "buttonText": "Opções",
                "sections": [
                    {"title": "Rápido", "rows": [{"rowId": "r1", "title": "Expresso", "description": "1d"}]},
                    {"title": "Barato", "rows": [{"id": "r2", "title": "Normal"}]},
                ],
            },
        },
    ),
    ("image", {"mode": "media", "media": "https://x.example/a.jpg", "mediaType": "image", "caption": "foto"}),
    ("video", {"mode": "media", "media": "https://x.example/a.mp4", "mediaType": "video"}),
    (
        "document",
        {
            "mode": "media",
            "media": "https://x.example/a.pdf",
            "mediaType": "document",
            "caption": "nota",
            "fileName": "nota.pdf",
        },
    ),
    ("audio", {"mode": "media", "media": "https://x.example/a.ogg", "mediaType": "audio"}),
    ("voice", {"mode": "media", "media": "https://x.example/v.ogg", "mediaType": "voice"}),
    ("sticker", {"mode": "media", "media": "https://x.example/s.webp", "mediaType": "sticker"}),
]


@pytest.mark.parametrize("payload", [m[1] for m in MODES], ids=[m[0] for m in MODES])
def test_each_session_mode_is_accepted_as_built(sim: SimThread, payload: dict[str, Any]) -> None:
    open_window(sim)
    message = outbound(payload)
    result = send(sim, message)

    [request] = requests(sim)
    assert request["json"] == payloads.build(message)
    verdict = sim_message(sim, result.provider_message_id)
    assert verdict["failure"] is None
    assert verdict["request"]["type"] == request["json"]["type"]


def test_flow_is_accepted(sim: SimThread) -> None:
    open_window(sim)
    message = outbound(
        {
            "mode": "flow",
            "text": "Agende",
            "flow": {
                "flowId": "1234567890",
                "cta": "Agendar",
                "action": "navigate",
                "screen": "START",
                "data": {"servico": "corte"},
            },
        }
    )
    result = send(sim, message)
    assert sim_message(sim, result.provider_message_id)["failure"] is None


def test_voice_note_reports_played_as_read(sim: SimThread, receiver: WebhookReceiver) -> None:
    open_window(sim)
    result = send(sim, outbound({"mode": "media", "media": "https://x.example/v.ogg", "mediaType": "voice"}))
    wamid = result.provider_message_id
    found = events(receiver, lambda evs: len(statuses_of(evs, wamid)) == 4)
    assert [s.status for s in statuses_of(found, wamid)] == ["SENT", "DELIVERED", "READ", "READ"]


# -- base64 media ----------------------------------------------------------------------------


def test_base64_media_is_uploaded_then_sent_by_id(sim: SimThread) -> None:
    open_window(sim)
    data_uri = "data:image/jpeg;base64," + base64.b64encode(JPEG_BYTES).decode()
    result = send(
        sim, outbound({"mode": "media", "media": data_uri, "mediaType": "image", "caption": "foto"})
    )

    [upload] = requests(sim, f"/{GRAPH_API_VERSION}/{PNID}/media")
    assert upload["headers"]["content-type"].startswith("multipart/form-data")
    assert upload["headers"]["authorization"] == f"Bearer {TOKEN}"
    [request] = requests(sim)
    media_id = request["json"]["image"]["id"]
    assert request["json"]["image"] == {"id": media_id, "caption": "foto"}
    assert upload["at"] <= request["at"]

    info = httpx.get(
        f"{sim.url}/{GRAPH_API_VERSION}/{media_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()
    assert info["mime_type"] == "image/jpeg"
    assert int(info["file_size"]) == len(JPEG_BYTES)
    assert info["sha256"] == hashlib.sha256(JPEG_BYTES).hexdigest()
    assert sim_message(sim, result.provider_message_id)["failure"] is None


def test_upload_refused_by_meta_fails_the_send(sim: SimThread) -> None:
    open_window(sim)
    data_uri = "data:application/x-msdownload;base64," + base64.b64encode(b"MZ").decode()
    with pytest.raises(errors.ProviderPermanentError) as caught:
        send(sim, outbound({"mode": "media", "media": data_uri, "mediaType": "document"}))
    assert caught.value.code == "MEDIA_DOWNLOAD_FAILED"
    assert requests(sim) == []


# -- mark read + typing ----------------------------------------------------------------------


def test_mark_read_and_typing_go_before_the_send(sim: SimThread) -> None:
    inbound_id = open_window(sim)
    result = send(sim, outbound({"mode": "text", "text": "Oi Ana"}, mark_read_id=inbound_id))

    assert result.marked_read is True  # the conversation's history reads it as read
    first, second = requests(sim)
    assert first["json"] == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": inbound_id,
        "typing_indicator": {"type": "text"},
    }
    assert second["json"]["type"] == "text"
    [seen] = [m for m in sim.control("GET", "/_sim/inbound") if m["id"] == inbound_id]
    assert seen["readByBusiness"] is True
    assert seen["typingIndicator"] is True


def test_mark_read_failure_is_logged_and_the_send_goes_on(
    sim: SimThread, caplog: pytest.LogCaptureFixture
) -> None:
    open_window(sim)
    with caplog.at_level(logging.WARNING, logger="zapgate.providers.meta.adapter"):
        result = send(sim, outbound({"mode": "text", "text": "Oi"}, mark_read_id="wamid.NOT_RECEIVED"))

    assert result.provider_message_id.startswith("wamid.") and result.marked_read is False
    assert [r["json"].get("type") for r in requests(sim)] == [None, "text"]
    [record] = [r for r in caplog.records if "mark-read" in r.getMessage()]
    fields = record.__dict__["fields"]
    assert fields["message_id"] == "msg_1"
    assert "Meta error 100" in fields["error"]
    assert TOKEN not in repr(record.__dict__)


def test_mark_read_auth_failure_stops_the_send(sim: SimThread) -> None:
    inbound_id = open_window(sim)
    sim.control("POST", "/_sim/faults", {"kind": "error", "code": 190, "path": "/messages"})
    with pytest.raises(errors.ProviderAuthError):
        send(sim, outbound({"mode": "text", "text": "Oi"}, mark_read_id=inbound_id))
    assert len(requests(sim)) == 1


def test_no_mark_read_without_a_message_id(sim: SimThread) -> None:
    open_window(sim)
    message = OutboundMessage(
        message_id="m",
        number=NUMBER,
        destination=CONTACT,
        destination_kind="phone",
        mode="text",
        payload={"mode": "text", "text": "x"},
        attempt=1,
        mark_read=True,
    )
    send(sim, message)
    assert [r["json"]["type"] for r in requests(sim)] == ["text"]


# -- templates -------------------------------------------------------------------------------


def test_template_submit_approve_and_send(sim: SimThread, receiver: WebhookReceiver) -> None:
    submission = run(sim, lambda p: p.submit_template(NUMBER, OUR_TEMPLATE))

    assert isinstance(submission, TemplateSubmission)
    assert submission.status == "PENDING"
    [created] = requests(sim, f"/{GRAPH_API_VERSION}/{WABA}/message_templates")
    assert created["json"] == templates.create_body(OUR_TEMPLATE)
    assert created["headers"]["authorization"] == f"Bearer {TOKEN}"

    sim.control("POST", f"/_sim/templates/{submission.provider_template_id}/status", {"event": "APPROVED"})
    found = events(receiver, lambda evs: any(isinstance(e, TemplateUpdate) for e in evs))
    assert [e for e in found if isinstance(e, TemplateUpdate)] == [
        TemplateUpdate(
            name="pedido_saiu",
            status="APPROVED",
            provider_template_id=submission.provider_template_id,
            language="pt_BR",
            route=WABA,
        )
    ]

    # No window needed for templates; the simulator checks the named parameters per slot.
    message = outbound(TEMPLATE_PAYLOAD, message_id="msg_tpl")
    result = send(sim, message)
    [request] = requests(sim)
    assert request["json"] == payloads.build(message)
    assert sim_message(sim, result.provider_message_id)["failure"] is None
    sent = events(
        receiver, lambda evs: any(s.status == "SENT" for s in statuses_of(evs, result.provider_message_id))
    )
    [first] = [s for s in statuses_of(sent, result.provider_message_id) if s.status == "SENT"]
    assert first.pricing is not None and first.pricing["category"] == "utility"
    assert first.our_message_id == "msg_tpl"


def test_template_send_before_approval(sim: SimThread) -> None:
    run(sim, lambda p: p.submit_template(NUMBER, OUR_TEMPLATE))
    with pytest.raises(errors.ProviderPermanentError) as caught:
        send(sim, outbound(TEMPLATE_PAYLOAD))
    assert caught.value.code == "META_TEMPLATE_NOT_FOUND"


def test_template_with_wrong_parameters_is_a_params_mismatch(sim: SimThread) -> None:
    submission = run(sim, lambda p: p.submit_template(NUMBER, OUR_TEMPLATE))
    sim.control("POST", f"/_sim/templates/{submission.provider_template_id}/status", {"event": "APPROVED"})
    wrong = {
        **TEMPLATE_PAYLOAD["template"],
        "placement": {"header": ["pedido"], "body": ["nome"], "buttons": {"1": ["link"]}},
    }
    with pytest.raises(errors.ProviderPermanentError) as caught:
        send(sim, outbound({"mode": "template", "template": wrong}))
    assert caught.value.code == "META_TEMPLATE_PARAMS_MISMATCH"
    assert "132000" in caught.value.message


def test_duplicate_template_is_a_validation_error(sim: SimThread) -> None:
    run(sim, lambda p: p.submit_template(NUMBER, OUR_TEMPLATE))
    with pytest.raises(errors.ValidationFailed) as caught:
        run(sim, lambda p: p.submit_template(NUMBER, OUR_TEMPLATE))
    assert "Meta error 100" in caught.value.message


def test_bad_template_name_never_reaches_meta(sim: SimThread) -> None:
    with pytest.raises(errors.ValidationFailed):
        run(sim, lambda p: p.submit_template(NUMBER, {**OUR_TEMPLATE, "name": "Pedido Saiu"}))
    assert requests(sim, f"/{GRAPH_API_VERSION}/{WABA}/message_templates") == []


EDITED: dict[str, Any] = {
    **OUR_TEMPLATE,
    "content": {
        **OUR_TEMPLATE["content"],
        "body": "Oi {{nome}}, o pedido {{pedido}} já saiu",
        "footer": None,
    },
}
TEMPLATES_PATH = f"/{GRAPH_API_VERSION}/{WABA}/message_templates"


def approved_template(sim: SimThread) -> str:
    """Submit ``OUR_TEMPLATE`` and let Meta approve it; returns Meta's template id."""
    submission = run(sim, lambda p: p.submit_template(NUMBER, OUR_TEMPLATE))
    sim.control("POST", f"/_sim/templates/{submission.provider_template_id}/status", {"event": "APPROVED"})
    return str(submission.provider_template_id)


def sim_template(sim: SimThread, template_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{sim.url}/{GRAPH_API_VERSION}/{template_id}", headers={"authorization": f"Bearer {TOKEN}"}
    )
    return dict(answer.json())


def test_template_edit_keeps_the_id_and_goes_back_to_review(sim: SimThread) -> None:
    template_id = approved_template(sim)

    assert run(sim, lambda p: p.edit_template(NUMBER, template_id, EDITED)) is None

    [edit] = requests(sim, f"/{GRAPH_API_VERSION}/{template_id}")
    assert edit["method"] == "POST"
    assert edit["json"] == templates.edit_body(EDITED)
    assert edit["json"] == {"components": templates.create_body(EDITED)["components"]}
    at_meta = sim_template(sim, template_id)
    assert at_meta["status"] == "PENDING"
    assert at_meta["components"] == templates.edit_body(EDITED)["components"]
    assert len(requests(sim, TEMPLATES_PATH)) == 1  # the create only: no second template


@pytest.mark.parametrize("status", ["PENDING", "DISABLED"])
def test_template_edit_refused_while_not_editable(sim: SimThread, status: str) -> None:
    submission = run(sim, lambda p: p.submit_template(NUMBER, OUR_TEMPLATE))
    template_id = submission.provider_template_id
    if status != "PENDING":
        sim.control("POST", f"/_sim/templates/{template_id}/status", {"event": status})
    before = sim_template(sim, template_id)

    with pytest.raises(errors.Conflict) as caught:
        run(sim, lambda p: p.edit_template(NUMBER, template_id, EDITED))

    assert caught.value.code == "TEMPLATE_NOT_EDITABLE"
    assert caught.value.extra == {"details": {"metaStatus": status}}
    assert f"while it is {status}" in caught.value.message
    assert f"Templates with status {status} cannot be edited" in caught.value.message
    assert sim_template(sim, template_id) == before


def test_template_edit_refused_for_its_content_stays_a_validation_error(sim: SimThread) -> None:
    template_id = approved_template(sim)
    sim.control("POST", "/_sim/faults", {"kind": "error", "code": 100, "path": f"/{template_id}"})
    with pytest.raises(errors.ValidationFailed) as caught:
        run(sim, lambda p: p.edit_template(NUMBER, template_id, EDITED))
    assert caught.value.code == "VALIDATION_ERROR"
    assert "Meta error 100" in caught.value.message
    assert sim_template(sim, template_id)["status"] == "APPROVED"


def test_template_edit_upstream_trouble(sim: SimThread) -> None:
    template_id = approved_template(sim)
    sim.control("POST", "/_sim/faults", {"kind": "http", "status": 503, "path": f"/{template_id}"})
    with pytest.raises(errors.Unavailable) as caught:
        run(sim, lambda p: p.edit_template(NUMBER, template_id, EDITED))
    assert caught.value.code == "UPSTREAM_ERROR"


def test_template_delete_deletes_that_template_at_meta(sim: SimThread) -> None:
    template_id = approved_template(sim)
    other = {**OUR_TEMPLATE, "language": "en_US"}
    kept = run(sim, lambda p: p.submit_template(NUMBER, other)).provider_template_id

    assert run(sim, lambda p: p.delete_template(NUMBER, "pedido_saiu", template_id)) is None

    [deleted] = [r for r in requests(sim, TEMPLATES_PATH) if r["method"] == "DELETE"]
    assert deleted["query"] == {"name": "pedido_saiu", "hsm_id": template_id}
    assert deleted["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert sim_template(sim, template_id)["error"]["code"] == 100
    assert sim_template(sim, kept)["language"] == "en_US"  # the other language stays


def test_template_delete_of_a_template_meta_no_longer_has_succeeds(sim: SimThread) -> None:
    template_id = approved_template(sim)
    run(sim, lambda p: p.delete_template(NUMBER, "pedido_saiu", template_id))
    run(sim, lambda p: p.delete_template(NUMBER, "pedido_saiu", template_id))
    assert [r["method"] for r in requests(sim, TEMPLATES_PATH)] == ["POST", "DELETE", "DELETE"]


def test_template_delete_refused_is_a_conflict(sim: SimThread) -> None:
    template_id = approved_template(sim)
    sim.control("POST", "/_sim/faults", {"kind": "error", "code": 200, "path": "/message_templates"})
    with pytest.raises(errors.Conflict) as caught:
        run(sim, lambda p: p.delete_template(NUMBER, "pedido_saiu", template_id))
    assert caught.value.code == "TEMPLATE_NOT_DELETABLE"
    assert "Meta error 200" in caught.value.message
    assert sim_template(sim, template_id)["status"] == "APPROVED"


@pytest.mark.parametrize(
    ("credentials", "fault", "cls", "code"),
    [
        (CREDENTIALS, {"kind": "http", "status": 503}, errors.Unavailable, "UPSTREAM_ERROR"),
        (CREDENTIALS, {"kind": "error", "code": 190}, errors.ProviderAuthError, "PROVIDER_AUTH_FAILED"),
        ({"phoneNumberId": PNID, "accessToken": TOKEN}, None, errors.Unavailable, "PROVIDER_NOT_CONFIGURED"),
    ],
    ids=["upstream-503", "bad-token", "no-waba"],
)
def test_template_delete_trouble(
    sim: SimThread, credentials: dict[str, Any], fault: dict[str, Any] | None, cls: type[Exception], code: str
) -> None:
    template_id = approved_template(sim)
    if fault is not None:
        sim.control("POST", "/_sim/faults", {**fault, "path": "/message_templates"})
    ref = NumberRef(id="n", number="1", provider="meta", official=True, credentials=credentials)
    with pytest.raises(cls) as caught:
        run(sim, lambda p: p.delete_template(ref, "pedido_saiu", template_id))
    assert getattr(caught.value, "code", None) == code
    assert sim_template(sim, template_id)["status"] == "APPROVED"


# -- describe_number -------------------------------------------------------------------------


def test_describe_number(sim: SimThread) -> None:
    profile = run(sim, lambda p: p.describe_number(NUMBER))
    assert profile == NumberProfile(
        display_phone_number="15550000001", verified_name="Zapgate Sim", quality_rating="GREEN"
    )
    [request] = requests(sim, f"/{GRAPH_API_VERSION}/{PNID}")
    assert request["method"] == "GET"
    assert request["query"]["fields"] == "display_phone_number,verified_name,quality_rating"


@pytest.mark.parametrize(
    ("credentials", "cls", "code"),
    [
        ({**CREDENTIALS, "accessToken": "wrong-token"}, errors.ProviderAuthError, "PROVIDER_AUTH_FAILED"),
        ({**CREDENTIALS, "phoneNumberId": "999999999999999"}, errors.ValidationFailed, "VALIDATION_ERROR"),
        ({"phoneNumberId": PNID}, errors.Unavailable, "PROVIDER_NOT_CONFIGURED"),
    ],
    ids=["bad-token", "unknown-number", "no-token"],
)
def test_describe_number_refused(
    sim: SimThread, credentials: dict[str, Any], cls: type[Exception], code: str
) -> None:
    ref = NumberRef(id="n", number="1", provider="meta", official=True, credentials=credentials)
    with pytest.raises(cls) as caught:
        run(sim, lambda p: p.describe_number(ref))
    assert getattr(caught.value, "code", None) == code
    assert "wrong-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"kind": "slow", "delayMs": 600}, "UPSTREAM_TIMEOUT"),
        ({"kind": "http", "status": 503}, "UPSTREAM_ERROR"),
        ({"kind": "error", "code": 2}, "UPSTREAM_ERROR"),
    ],
)
def test_describe_number_upstream_trouble(sim: SimThread, fault: dict[str, Any], code: str) -> None:
    sim.control("POST", "/_sim/faults", {**fault, "path": f"/{PNID}"})
    with pytest.raises(errors.Unavailable) as caught:
        run(sim, lambda p: p.describe_number(NUMBER), timeout=0.3)
    assert caught.value.code == code


# -- error translation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls", "ours"),
    [
        (131047, errors.ProviderPermanentError, "META_OUTSIDE_24H_WINDOW"),
        (131026, errors.ProviderPermanentError, "WHATSAPP_NOT_EXIST"),
        (131048, errors.ProviderPermanentError, "META_SPAM_RATE_LIMITED"),
        (132001, errors.ProviderPermanentError, "META_TEMPLATE_NOT_FOUND"),
        (131051, errors.ProviderPermanentError, "MEDIA_UNSUPPORTED"),
        (368, errors.ProviderPermanentError, "PROVIDER_REJECTED"),
        (130429, errors.ProviderTemporaryError, "META_RATE_LIMITED"),
        (131000, errors.ProviderTemporaryError, "DELIVERY_TIMEOUT"),
        (131016, errors.ProviderTemporaryError, "DELIVERY_TIMEOUT"),
        (190, errors.ProviderAuthError, "PROVIDER_AUTH_FAILED"),
    ],
)
def test_injected_graph_errors(sim: SimThread, code: int, cls: type[errors.ProviderError], ours: str) -> None:
    open_window(sim)
    sim.control("POST", "/_sim/faults", {"kind": "error", "code": code, "path": "/messages"})
    with pytest.raises(errors.ProviderError) as caught:
        send(sim, outbound({"mode": "text", "text": "x"}))
    assert type(caught.value) is cls
    assert caught.value.code == ours
    assert caught.value.message.startswith(f"Meta error {code}: ")
    assert TOKEN not in caught.value.message


def test_pair_rate_limit_from_the_simulator_asks_to_wait(sim: SimThread) -> None:
    open_window(sim)
    sim.control("POST", "/_sim/config", {"pairBurst": 1, "pairRatePerSecond": 0.001})
    send(sim, outbound({"mode": "text", "text": "1"}))
    with pytest.raises(errors.ProviderTemporaryError) as caught:
        send(sim, outbound({"mode": "text", "text": "2"}, attempt=2))
    assert caught.value.code == "META_PAIR_RATE_LIMITED"
    assert caught.value.retry_after == 16.0


@pytest.mark.parametrize(
    ("fault", "needle"),
    [
        ({"kind": "http", "status": 503, "body": {"oops": True}}, "HTTP 503"),
        ({"kind": "http", "status": 500, "body": "<html>down</html>"}, "HTTP 500"),
        ({"kind": "slow", "delayMs": 600}, "TransportTimeout"),
    ],
)
def test_transport_trouble_is_temporary(sim: SimThread, fault: dict[str, Any], needle: str) -> None:
    open_window(sim)
    sim.control("POST", "/_sim/faults", {**fault, "path": "/messages"})
    with pytest.raises(errors.ProviderTemporaryError) as caught:
        send(sim, outbound({"mode": "text", "text": "x"}), timeout=0.3)
    assert caught.value.code == "DELIVERY_TIMEOUT"
    assert needle in caught.value.message


def test_unreachable_graph_is_temporary(sim: SimThread) -> None:
    with pytest.raises(errors.ProviderTemporaryError) as caught:
        send(sim, outbound({"mode": "text", "text": "x"}), graph_url=f"http://127.0.0.1:{free_port()}")
    assert "ConnectError" in caught.value.message


def test_incomplete_credentials_fail_before_any_call(sim: SimThread) -> None:
    ref = NumberRef(id="n", number="1", provider="meta", official=True, credentials={"phoneNumberId": PNID})
    with pytest.raises(errors.ProviderAuthError):
        send(sim, outbound({"mode": "text", "text": "x"}, number=ref))
    assert requests(sim) == []


@pytest.mark.parametrize(
    ("setup", "code", "retryable"),
    [
        ("no-window", "META_OUTSIDE_24H_WINDOW", False),
        ("unknown-recipient", "WHATSAPP_NOT_EXIST", False),
        ("async-131000", "DELIVERY_TIMEOUT", True),
    ],
)
def test_asynchronous_failures_arrive_as_failed_statuses(
    sim: SimThread, receiver: WebhookReceiver, setup: str, code: str, retryable: bool
) -> None:
    if setup != "no-window":
        open_window(sim)
    if setup == "unknown-recipient":
        sim.control("POST", "/_sim/config", {"unknownRecipients": [CONTACT.lstrip("+")]})
    if setup == "async-131000":
        sim.control("POST", "/_sim/faults", {"kind": "async_error", "code": 131000, "path": "/messages"})
    result = send(sim, outbound({"mode": "text", "text": "x"}, message_id="msg_async"))

    wamid = result.provider_message_id
    found = events(receiver, lambda evs: bool(statuses_of(evs, wamid)))
    [failed] = statuses_of(found, wamid)
    assert (failed.status, failed.code, failed.retryable) == ("FAILED", code, retryable)
    assert failed.our_message_id == "msg_async"
    assert failed.detail is not None and failed.detail.startswith("Meta error ")


def test_capabilities() -> None:
    caps = MetaProvider(graph_url="http://127.0.0.1:1").capabilities(official=True)
    assert (
        caps.base64_media,
        caps.groups,
        caps.newsletters,
        caps.templates_need_approval,
        caps.enforces_24h_window,
        caps.mark_read_on_send,
    ) == (True, False, False, True, True, True)
    assert (caps.default_pace_per_second, caps.max_in_flight) == (80, 32)
    assert caps.modes == frozenset({"template", "text", "media", "list", "flow"})

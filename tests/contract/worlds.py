"""One "world" per provider: a Zapgate server wired to the provider's simulator over loopback,
a tenant, a connected number with its key, and a customer webhook receiver. The contract suite
runs the same scenarios in every world; the per-provider end-to-end tests use them too.

A world hides only what differs by provider: how a number is connected, how a contact writes
in, how a recipient is made unknown, how a transient fault is injected.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pilot_status import PilotStatusClient
from pilot_status.webhooks import parse_customer_webhook

from tests.conftest import Api, wait_until
from tests.helpers import sdk_transport
from zapgate.sim.common import SimThread
from zapgate.testing import ServerThread, WebhookReceiver, reserve_port

PROVIDERS = ("sandbox", "meta", "evolution-v2", "evolution-go")
META_NUMBER = {
    "phoneNumberId": "100000000000001",
    "wabaId": "200000000000001",
    "accessToken": "sim-meta-token",
}
META_APP_SECRET = "sim-app-secret"
META_VERIFY_TOKEN = "verify-me"
EVOLUTION_KEY = "sim-evolution-key"
EVOLUTION_GO_KEY = "sim-evolution-go-key"
SIM_CONFIG = {"statusDelayMs": 20, "callbackRetrySeconds": 0.05}
SANDBOX_NOT_ON_WHATSAPP = "+5511900000001"


@dataclass
class World:
    kind: str
    server: ServerThread
    api: Api
    tenant: dict[str, Any]
    number: dict[str, Any]
    receiver: WebhookReceiver
    sim: SimThread | None = None
    hook_secret: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # -- facts --------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return str(self.number["key"])

    @property
    def official(self) -> bool:
        return self.kind == "meta"

    @property
    def instance(self) -> str:
        return "zapgate-" + str(self.number["id"])

    # -- sending and reading --------------------------------------------------------------------
    def send(self, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.api.post("/v1/messages/send", self.key, json=body, **kw)

    def send_accepted(self, body: dict[str, Any]) -> str:
        """Send, insist on 202 Accepted, return the message id."""
        response = self.send(body)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def message(self, message_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.api.get(f"/v1/messages/{message_id}", self.key).json()
        return body

    def wait_status(self, message_id: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
        """Wait for ``status``; "SENT" also accepts the later DELIVERED and READ."""
        wanted = {"SENT", "DELIVERED", "READ"} if status == "SENT" else {status}

        def check() -> dict[str, Any] | None:
            body = self.message(message_id)
            return body if body["status"] in wanted else None

        try:
            result: dict[str, Any] = wait_until(check, timeout=timeout)
        except TimeoutError:
            raise AssertionError(f"{message_id} never reached {status}: {self.message(message_id)}") from None
        return result

    def timeline(self, message_id: str) -> list[dict[str, Any]]:
        body = self.api.get(f"/v1/messages/{message_id}/events", self.key).json()
        return list(body.get("events", body) if isinstance(body, dict) else body)

    def events(self, predicate: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Customer webhooks received so far, parsed by the official SDK."""
        out = []
        for item in self.receiver.snapshot():
            event = parse_customer_webhook(json.loads(item.body), unknown_events="raise")
            if predicate is None or predicate(dict(event)):
                out.append(dict(event))
        return out

    def wait_events(
        self, predicate: Callable[[dict[str, Any]], bool], count: int = 1, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        def check() -> list[dict[str, Any]] | None:
            found = self.events(predicate)
            return found if len(found) >= count else None

        try:
            result: list[dict[str, Any]] = wait_until(check, timeout=timeout)
        except TimeoutError:
            raise AssertionError(f"expected {count} events; got {self.events(predicate)}") from None
        return result

    def message_events(self, message_id: str, count: int = 0) -> list[str]:
        """The message's customer webhook events in arrival order (waiting for ``count``)."""

        def mine(e: dict[str, Any]) -> bool:
            return bool(e["data"].get("id") == message_id)

        if count:
            self.wait_events(mine, count=count)
        return [e["event"] for e in self.events(mine)]

    # -- what differs by provider ---------------------------------------------------------------
    def sdk(self) -> PilotStatusClient:
        """The official SDK on the number's key, talking to this world's server."""
        return PilotStatusClient(api_key=self.key, transport=sdk_transport(self.server.url))

    def control(self, method: str, path: str, body: Any = None) -> Any:
        assert self.sim is not None, f"{self.kind} has no simulator"
        return self.sim.control(method, path, body)

    def sim_config(self, **config: Any) -> None:
        self.control("POST", "/_sim/config", config)

    def inbound(self, sender: str, text: str, *, reply_to: str | None = None, name: str = "Maria") -> None:
        """A contact writes to the number (``reply_to`` = the provider id it quotes)."""
        digits = sender.lstrip("+")
        if self.kind == "sandbox":
            body: dict[str, Any] = {"from": sender, "text": text, "name": name}
            if reply_to:
                body["quotedMessageId"] = reply_to
            r = self.api.post("/v1/sandbox/inbound", self.key, json=body)
            assert r.status_code == 200, r.text
            return
        payload: dict[str, Any] = {"from": digits, "name": name, "type": "text", "text": text}
        if reply_to:
            payload["replyTo"] = reply_to
        if self.kind == "meta":
            payload["phoneNumberId"] = META_NUMBER["phoneNumberId"]
        else:
            payload["instance"] = self.instance
        self.control("POST", "/_sim/inbound", payload)

    def open_window(self, contact: str) -> None:
        """Meta only sends free text inside the 24 h window: the contact writes first."""
        if not self.official:
            return
        self.inbound(contact, "oi")
        self.wait_events(lambda e: e["event"] == "message.received" and e["data"]["from"] == contact)

    def make_unknown(self, contact: str) -> str:
        """A destination that is not on WhatsApp; returns the number to send to."""
        if self.kind == "sandbox":
            return SANDBOX_NOT_ON_WHATSAPP
        self.sim_config(unknownRecipients=[contact.lstrip("+")])
        return contact

    def fail_next_send(self, to: str, times: int = 1) -> None:
        """The provider answers the next send(s) to ``to`` with a transient 5xx."""
        assert self.kind != "sandbox"
        path = {"meta": "/messages", "evolution-v2": "/message/", "evolution-go": "/send/"}[self.kind]
        self.control(
            "POST",
            "/_sim/faults",
            {"kind": "http", "path": path, "status": 503, "times": times, "to": to.lstrip("+")},
        )


def zapgate_settings(kind: str, port: int, sim_url: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "public_url": f"http://127.0.0.1:{port}",
        "evolution_pace_per_second": 50.0,
        "evolution_pace_jitter": 0.0,
        "provider_timeout_seconds": 5.0,
    }
    if kind == "meta":
        settings.update(
            meta_graph_url=sim_url, meta_app_secret=META_APP_SECRET, meta_verify_token=META_VERIFY_TOKEN
        )
    elif kind == "evolution-v2":
        settings.update(evolution_url=sim_url, evolution_api_key=EVOLUTION_KEY)
    elif kind == "evolution-go":
        settings.update(evolution_go_url=sim_url, evolution_go_api_key=EVOLUTION_GO_KEY)
    return settings


def start_sim(kind: str, zapgate_url: str) -> SimThread | None:
    if kind == "meta":
        from zapgate.sim import meta

        return SimThread(
            meta.create_app(
                callback_url=zapgate_url + "/webhooks/meta",
                app_secret=META_APP_SECRET,
                config=dict(SIM_CONFIG),
            )
        ).start()
    if kind == "evolution-v2":
        from zapgate.sim import evolution_v2

        return SimThread(evolution_v2.create_app(api_key=EVOLUTION_KEY, config=dict(SIM_CONFIG))).start()
    if kind == "evolution-go":
        from zapgate.sim import evolution_go

        return SimThread(evolution_go.create_app(api_key=EVOLUTION_GO_KEY, config=dict(SIM_CONFIG))).start()
    return None


def connect_number(kind: str, api: Api, tenant_key: str, sim: SimThread | None, phone: str) -> dict[str, Any]:
    if kind == "sandbox":
        return api.create_number(tenant_key, number=phone)
    if kind == "meta":
        r = api.post(
            "/v1/numbers/meta", tenant_key, json={"name": "Loja Meta", "number": phone, **META_NUMBER}
        )
    else:
        r = api.post("/v1/numbers", tenant_key, json={"name": "Loja", "number": phone, "provider": kind})
    assert r.status_code == 201, r.text
    body = r.json()
    number = {"id": body["instance"]["id"], "key": body["apiKey"]["key"], "number": phone, "created": body}
    if kind in ("evolution-v2", "evolution-go"):
        assert sim is not None
        sim.control("POST", f"/_sim/instances/zapgate-{number['id']}/pair", {})
        wait_until(
            lambda: api.get(f"/v1/numbers/{number['id']}", tenant_key).json()["state"] == "OPEN", timeout=15
        )
    return number


def build_world(
    kind: str,
    *,
    make_settings: Callable[..., Any],
    make_tenant: Callable[..., dict[str, Any]],
    receiver: WebhookReceiver,
    **overrides: Any,
) -> World:
    sock = reserve_port()
    port = sock.getsockname()[1]
    sim = start_sim(kind, f"http://127.0.0.1:{port}")
    settings = make_settings(**{**zapgate_settings(kind, port, sim.url if sim else None), **overrides})
    server = ServerThread(settings, sock=sock)
    server.start()
    api = Api(server.url)
    tenant = make_tenant()
    phone = (
        "+15550000001"
        if kind == "meta"
        else "+55119" + "".join(secrets.choice("0123456789") for _ in range(8))
    )
    number = connect_number(kind, api, tenant["key"], sim, phone)
    hook = api.post(
        "/v1/webhooks", number["key"], json={"url": receiver.url, "events": "*", "name": "contract"}
    )
    assert hook.status_code == 201, hook.text
    return World(
        kind=kind,
        server=server,
        api=api,
        tenant=tenant,
        number=number,
        receiver=receiver,
        sim=sim,
        hook_secret=hook.json()["secret"],
    )


def close_world(world: World) -> None:
    world.api.close()
    world.server.stop()
    if world.sim is not None:
        world.sim.stop()


@pytest.fixture
def make_world(
    make_settings: Callable[..., Any], make_tenant: Callable[..., dict[str, Any]]
) -> Iterator[Callable[..., World]]:
    """``make_world(kind, **setting_overrides)``: a world with its own customer webhook receiver;
    every world made in the test is closed after it."""
    with contextlib.ExitStack() as stack:

        def make(kind: str, **overrides: Any) -> World:
            receiver = stack.enter_context(WebhookReceiver())
            world = build_world(
                kind, make_settings=make_settings, make_tenant=make_tenant, receiver=receiver, **overrides
            )
            stack.callback(close_world, world)
            return world

        yield make

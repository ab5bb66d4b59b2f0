"""A Meta callback speaks only for the numbers of the app whose secret signed it.

Two workspaces on one server: A's number is signed with the operator's app secret, B brought its
own Meta number with an ``appSecret`` it chose. B signs envelopes that reach into A (a status of
A's message, an inbound message to A, a verdict on A's template): each is refused whole and
nothing changes for anyone — no status, no inbound row, no webhook, no template state, not even
in a third workspace that has a template of the same name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import wait_until
from tests.contract.worlds import META_APP_SECRET, META_NUMBER, World
from tests.helpers import assert_error, with_container
from zapgate.storage import tables as t

CONTACT = "+5511988887777"
B_SECRET = "b-own"
B_NUMBER = {"phoneNumberId": "106900002", "wabaId": "206900002", "accessToken": "b-token"}
TEMPLATE = {
    "name": "pedido_saiu",
    "category": "UTILITY",
    "language": "pt_BR",
    "body": "Olá {{nome}}, seu pedido {{pedido}} saiu!",
    "examples": {"nome": "Ana", "pedido": "42"},
}


def _sign(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def _messages_change(phone_number_id: str, **value: Any) -> dict[str, Any]:
    return {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000001", "phone_number_id": phone_number_id},
            **value,
        },
    }


def _read_status(wamid: str) -> dict[str, Any]:
    return {
        "statuses": [{"id": wamid, "status": "read", "timestamp": "1764000000", "recipient_id": CONTACT[1:]}]
    }


def _inbound(text: str) -> dict[str, Any]:
    return {
        "contacts": [{"profile": {"name": "Forged"}, "wa_id": CONTACT[1:]}],
        "messages": [
            {
                "from": CONTACT[1:],
                "id": "wamid.forged-" + text,
                "type": "text",
                "timestamp": "1764000000",
                "text": {"body": text},
            }
        ],
    }


def _template_change(meta_template_id: str, event: str) -> dict[str, Any]:
    return {
        "field": "message_template_status_update",
        "value": {
            "event": event,
            "message_template_id": meta_template_id,
            "message_template_name": TEMPLATE["name"],
            "message_template_language": "pt_BR",
            "reason": "INVALID_FORMAT",
        },
    }


def _envelope(*entries: tuple[str, list[dict[str, Any]]]) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": waba, "changes": changes} for waba, changes in entries],
        }
    ).encode()


class Attack:
    """World A (Meta, operator's secret) plus workspace B's own Meta number and workspace C's
    sandbox template of the same name."""

    def __init__(self, world: World, make_tenant: Callable[..., dict[str, Any]]) -> None:
        self.a = world
        world.control(
            "POST",
            "/_sim/numbers",
            {
                **B_NUMBER,
                "displayPhoneNumber": "15550000002",
                "verifiedName": "Loja B",
                "appSecret": B_SECRET,
            },
        )
        tenant_b = make_tenant(name="Beta")
        created = world.api.post(
            "/v1/numbers/meta",
            tenant_b["key"],
            json={"name": "Loja B", "number": "+15550000002", **B_NUMBER, "appSecret": B_SECRET},
        )
        assert created.status_code == 201, created.text
        self.b_key = created.json()["apiKey"]["key"]
        tenant_c = make_tenant(name="Gamma")
        self.c_key = world.api.create_number(tenant_c["key"], number="+5511977770000")["key"]
        made = world.api.post("/v1/templates", self.c_key, json=TEMPLATE)
        assert made.status_code == 201, made.text
        self.c_template = made.json()["id"]
        made = world.api.post("/v1/templates", world.key, json=TEMPLATE)
        assert made.status_code == 201, made.text
        self.a_template = made.json()["id"]
        assert world.sim is not None
        listing = httpx.get(
            world.sim.url + f"/v23.0/{META_NUMBER['wabaId']}/message_templates",
            headers={"authorization": "Bearer " + META_NUMBER["accessToken"]},
        )
        self.a_meta_template_id = str(listing.json()["data"][-1]["id"])
        world.open_window(CONTACT)
        world.sim_config(dropRead=True)
        self.message_id = world.send_accepted({"destinationNumber": CONTACT, "text": "x"})
        self.wamid = world.wait_status(self.message_id, "DELIVERED")["externalMessageId"]

    def post(self, raw: bytes, secret: str) -> httpx.Response:
        return _post(self.a, raw, secret)

    def state(self) -> dict[str, Any]:
        """Everything a forged callback could have touched."""

        def template(key: str, ref: str) -> tuple[Any, ...]:
            body = self.a.api.get(f"/v1/templates/{ref}", key).json()
            return body.get("status"), body.get("metaStatus"), body.get("rejectionReason")

        return {
            "message": self.a.message(self.message_id)["status"],
            "inbound": _count(self.a, sa.select(sa.func.count()).select_from(t.inbound_messages)),
            "stored callbacks": _count(self.a, _callbacks()),
            "a template": template(self.a.key, self.a_template),
            "c template": template(self.c_key, self.c_template),
            "webhooks": sorted(e["event"] for e in self.a.events()),
        }


def _post(world: World, raw: bytes, secret: str) -> httpx.Response:
    return httpx.post(
        world.server.url + "/webhooks/meta",
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": _sign(secret, raw)},
    )


def _callbacks() -> sa.Select[Any]:
    return (
        sa.select(sa.func.count())
        .select_from(t.provider_events)
        .where(t.provider_events.c.kind == "callback")
    )


def _count(world: World, query: sa.Select[Any]) -> int:
    async def count(container: Any) -> int:
        async with container.db.read() as conn:
            return int((await conn.execute(query)).scalar_one())

    return with_container(world.server.settings, count)


@pytest.fixture
def attack(make_world: Callable[..., World], make_tenant: Callable[..., dict[str, Any]]) -> Attack:
    return Attack(make_world("meta"), make_tenant)


def test_an_envelope_reaching_into_another_workspace_is_refused_whole(attack: Attack) -> None:
    before = attack.state()
    forged = _envelope(
        (
            B_NUMBER["wabaId"],
            [
                _messages_change(B_NUMBER["phoneNumberId"], statuses=[]),
                _messages_change(
                    META_NUMBER["phoneNumberId"], **_read_status(attack.wamid), **_inbound("hello")
                ),
            ],
        ),
        (META_NUMBER["wabaId"], [_template_change(attack.a_meta_template_id, "REJECTED")]),
    )
    assert_error(attack.post(forged, B_SECRET), 401, "INVALID_SIGNATURE")
    # Each reach on its own, too.
    for raw in (
        _envelope(
            (
                B_NUMBER["wabaId"],
                [_messages_change(META_NUMBER["phoneNumberId"], **_read_status(attack.wamid))],
            )
        ),
        _envelope((META_NUMBER["wabaId"], [_messages_change(B_NUMBER["phoneNumberId"], **_inbound("x"))])),
        _envelope((META_NUMBER["wabaId"], [_template_change(attack.a_meta_template_id, "REJECTED")])),
    ):
        assert_error(attack.post(raw, B_SECRET), 401, "INVALID_SIGNATURE")
    _prove_the_inbox_is_idle_then_compare(attack, before)


def test_a_verdict_in_b_s_own_account_never_moves_a_template_elsewhere(attack: Attack) -> None:
    """B may sign verdicts for its own WABA; one naming A's template id (and the shared name)
    is applied to B's numbers only, where no such template exists."""
    before = attack.state()
    raw = _envelope((B_NUMBER["wabaId"], [_template_change(attack.a_meta_template_id, "REJECTED")]))
    assert attack.post(raw, B_SECRET).status_code == 200
    before["stored callbacks"] += 1
    _prove_the_inbox_is_idle_then_compare(attack, before)


def _prove_the_inbox_is_idle_then_compare(attack: Attack, before: dict[str, Any]) -> None:
    """A genuine callback, posted last, is applied; the inbox applies callbacks in arrival
    order, so anything stored before it has been applied too when it shows."""
    genuine = _envelope(
        (
            META_NUMBER["wabaId"],
            [_messages_change(META_NUMBER["phoneNumberId"], **_read_status(attack.wamid))],
        )
    )
    assert attack.post(genuine, META_APP_SECRET).status_code == 200
    attack.a.wait_status(attack.message_id, "READ")
    attack.a.wait_events(lambda e: e["event"] == "message.read")
    pending = _callbacks().where(t.provider_events.c.processed_at.is_(None))
    wait_until(lambda: _count(attack.a, pending) == 0)
    after = attack.state()
    assert after["message"] == "READ"
    assert after["webhooks"] == sorted([*before["webhooks"], "message.read"])
    for key in ("inbound", "a template", "c template"):
        assert after[key] == before[key], key
    assert after["stored callbacks"] == before["stored callbacks"] + 1


def test_the_operator_secret_does_not_speak_for_a_number_with_its_own(attack: Attack) -> None:
    """B's number has its own app secret: the operator's secret cannot sign for it either."""
    raw = _envelope((B_NUMBER["wabaId"], [_messages_change(B_NUMBER["phoneNumberId"], **_inbound("y"))]))
    assert_error(attack.post(raw, META_APP_SECRET), 401, "INVALID_SIGNATURE")
    assert attack.post(raw, B_SECRET).status_code == 200


def test_a_number_registered_on_another_node_is_heard_without_waiting_for_the_cache(
    make_world: Callable[..., World],
    make_tenant: Callable[..., dict[str, Any]],
    start_server: Callable[..., Any],
) -> None:
    """The secrets table is cached (30 s here); a callback naming a number another node
    registered after it was loaded, signed by a known secret, makes one fresh load instead of
    a 401 until the cache expires (Meta would retry, but verdicts and statuses would wait)."""
    world = make_world("meta", key_cache_seconds=30)
    other = start_server(meta_graph_url=world.server.settings.meta_graph_url, meta_app_secret=META_APP_SECRET)
    first = _envelope(
        (
            META_NUMBER["wabaId"],
            [_messages_change(META_NUMBER["phoneNumberId"], **_read_status("wamid.unknown-1"))],
        )
    )
    assert _post(world, first, META_APP_SECRET).status_code == 200  # the table is loaded now
    new = {"phoneNumberId": "106900003", "wabaId": "206900003", "accessToken": "n-token"}
    world.control(
        "POST", "/_sim/numbers", {**new, "displayPhoneNumber": "15550000003", "verifiedName": "Loja Nova"}
    )
    created = httpx.post(
        other.url + "/v1/numbers/meta",
        headers={"x-api-key": make_tenant(name="Nova")["key"]},
        json={"name": "Loja Nova", "number": "+15550000003", **new},
    )
    assert created.status_code == 201, created.text
    second = _envelope(
        (new["wabaId"], [_messages_change(new["phoneNumberId"], **_read_status("wamid.unknown-2"))])
    )
    # Within the 1 s reload gap of the first load a miss is still refused; after it, accepted.
    wait_until(lambda: _post(world, second, META_APP_SECRET).status_code == 200, timeout=3)

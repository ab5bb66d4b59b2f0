"""Every method of the official SDK's messaging core, called through its ``transport`` against
``zapgate serve``, each result checked against the SDK's own types (required keys, value types,
literals), and every webhook the run produced parsed with ``parse_customer_webhook``.

The core is every resource of ``PilotStatusClient`` but the ones Zapgate leaves out (calls,
phone lines, leads, referrals, ads, lead pages: 501 NOT_SUPPORTED, tested in
tests/integration/test_unsupported.py) and number payments. A method the SDK gains in the core
fails ``test_every_core_method_is_covered`` until it is called here (or listed as pending).
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pilot_status import PilotStatusClient
from pilot_status import types as sdk_types
from pilot_status.webhooks import parse_customer_webhook

from tests.acceptance.conftest import ServeProcess
from tests.conftest import wait_until
from tests.contract.worlds import EVOLUTION_KEY, META_APP_SECRET, META_NUMBER, META_VERIFY_TOKEN, start_sim
from tests.helpers import sdk_transport
from zapgate.testing import WebhookReceiver, free_port

OUT_OF_SCOPE_RESOURCES = {"calls", "phone_lines", "leads", "referrals", "ads", "lead_pages"}
OUT_OF_SCOPE_METHODS = {("numbers", "pay")}
# Methods not built yet: called anyway, expected to fail until they are (strict xfail).
PENDING: set[tuple[str, str]] = set()
CONTACT = "+5511988887777"


def core_methods() -> set[tuple[str, str]]:
    """(resource, method) of every public method of the SDK's messaging core."""
    client = PilotStatusClient(api_key="ps_x", transport=lambda *_: (200, {}, "{}"))
    found = set()
    for resource, value in vars(client).items():
        if resource.startswith("_") or resource in OUT_OF_SCOPE_RESOURCES or not hasattr(value, "_http"):
            continue
        for name, _ in inspect.getmembers(type(value), inspect.isfunction):
            if not name.startswith("_"):
                found.add((resource, name))
    return found - OUT_OF_SCOPE_METHODS


# -- checking a value against the SDK's types ---------------------------------------------------


def conforms(value: Any, tp: Any, path: str = "$") -> list[str]:
    """Where ``value`` breaks ``tp`` (a TypedDict, list, union, literal or plain type)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return []
    if origin in (typing.Union, types.UnionType):
        options = [conforms(value, option, path) for option in typing.get_args(tp)]
        return [] if any(not o for o in options) else min(options, key=len)
    if origin is typing.Literal:
        return [] if value in typing.get_args(tp) else [f"{path}: {value!r} not in {typing.get_args(tp)}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item,) = typing.get_args(tp) or (Any,)
        return [problem for i, v in enumerate(value) for problem in conforms(v, item, f"{path}[{i}]")]
    if origin is dict or tp is dict:
        return [] if isinstance(value, dict) else [f"{path}: expected an object"]
    if typing.is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object ({tp.__name__}), got {type(value).__name__}"]
        problems = []
        # NotRequired / Required are read from the hints: the SDK's postponed annotations hide
        # them from ``__required_keys__`` on Python 3.11.
        for key, hint in typing.get_type_hints(tp, include_extras=True).items():
            wrapper = typing.get_origin(hint)
            if wrapper in (typing.NotRequired, typing.Required):
                (hint,) = typing.get_args(hint)
            required = wrapper is typing.Required or (wrapper is None and key in tp.__required_keys__)
            if key in value:
                problems += conforms(value[key], hint, f"{path}.{key}")
            elif required:
                problems.append(f"{path}.{key}: required by {tp.__name__}, missing")
        return problems
    if tp is type(None):
        return [] if value is None else [f"{path}: expected null, got {value!r}"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if isinstance(tp, type):
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        return [] if ok else [f"{path}: expected {tp.__name__}, got {value!r}"]
    return []


def returned_type(resource: Any, method: str) -> Any:
    hints = typing.get_type_hints(getattr(type(resource), method), vars(sdk_types))
    return hints["return"]


def test_the_checker_finds_problems() -> None:
    assert (
        conforms(
            {"id": "x", "name": "n", "slug": "s", "description": "", "createdAt": "t"}, sdk_types.Project
        )
        == []
    )
    assert conforms({"id": 1, "name": "n"}, sdk_types.Project) != []
    assert conforms({"sentPercentChange": None}, sdk_types.DashboardStats) != []
    assert conforms([{"id": "a", "subject": "b"}], list[sdk_types.GroupListItem]) == []


# -- the world: zapgate serve, a Meta simulator, a sandbox number and a Meta number -------------


@dataclass
class Conformance:
    server: ServeProcess
    tenant: PilotStatusClient
    number: PilotStatusClient
    number_key: str
    meta: PilotStatusClient
    number_id: str
    evolution_id: str  # an Evolution API v2 number, not paired yet
    meta_media: dict[str, Any]
    receiver: WebhookReceiver
    state: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conformance]:
    from tests.acceptance.conftest import process_env, run_cli
    from tests.conftest import fresh_database_url

    tmp = tmp_path_factory.mktemp("conformance")
    with fresh_database_url(tmp) as db_url, WebhookReceiver() as receiver:
        env = process_env(db_url)
        port = free_port()
        sim = start_sim("meta", f"http://127.0.0.1:{port}")
        evolution = start_sim("evolution-v2", f"http://127.0.0.1:{port}")
        assert sim is not None and evolution is not None
        server = ServeProcess(
            {
                **env,
                "ZAPGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "ZAPGATE_META_GRAPH_URL": sim.url,
                "ZAPGATE_META_APP_SECRET": META_APP_SECRET,
                "ZAPGATE_META_VERIFY_TOKEN": META_VERIFY_TOKEN,
                "ZAPGATE_EVOLUTION_URL": evolution.url,
                "ZAPGATE_EVOLUTION_API_KEY": EVOLUTION_KEY,
            },
            tmp / "serve.log",
        )
        server.port = port
        server.start()
        try:
            created = json.loads(
                run_cli(env, "admin", "create-tenant", "--name", "SDK", "--plan", "PAID", "--json")
            )
            transport = sdk_transport(server.url)
            tenant = PilotStatusClient(api_key=created["tenantKey"], transport=transport)
            made = tenant.numbers.create({"name": "Loja", "number": "+5511999997777"})
            number_id = made["instance"]["id"]
            key = tenant.api_keys.regenerate_number(number_id)["key"]
            import httpx

            hook = httpx.post(
                server.url + "/v1/webhooks",
                headers={"x-api-key": key},
                json={"url": receiver.url, "events": "*"},
            )
            assert hook.status_code == 201, hook.text
            registered = httpx.post(
                server.url + "/v1/numbers/meta",
                headers={"x-api-key": created["tenantKey"]},
                json={"name": "Loja Meta", "number": "+15550000001", **META_NUMBER},
            )
            assert registered.status_code == 201, registered.text
            meta_key = registered.json()["apiKey"]["key"]
            # The SDK's create has no provider field: an Evolution number through the API.
            unpaired = httpx.post(
                server.url + "/v1/numbers",
                headers={"x-api-key": created["tenantKey"]},
                json={"name": "QR", "number": "+5511999992222", "provider": "evolution-v2"},
            ).json()
            inbound = sim.control(
                "POST",
                "/_sim/inbound",
                {"phoneNumberId": META_NUMBER["phoneNumberId"], "from": CONTACT.lstrip("+"), "type": "image"},
            )
            yield Conformance(
                server=server,
                tenant=tenant,
                number=PilotStatusClient(api_key=key, transport=transport),
                number_key=key,
                meta=PilotStatusClient(api_key=meta_key, transport=transport),
                number_id=number_id,
                evolution_id=unpaired["instance"]["id"],
                meta_media={"media_id": inbound["mediaId"], "phone_number_id": META_NUMBER["phoneNumberId"]},
                receiver=receiver,
                state={},
            )
        finally:
            server.stop()
            sim.stop()
            evolution.stop()


# -- one call per method -------------------------------------------------------------------------


def _send(w: Conformance) -> Any:
    sent = w.number.messages.send({"destinationNumber": CONTACT, "text": "Olá"})
    w.state["message_id"] = sent["id"]
    return sent


def _get_message(w: Conformance) -> Any:
    message_id = w.state.get("message_id") or _send(w)["id"]
    wait_until(lambda: w.number.messages.get(message_id)["status"] == "READ", timeout=15)
    return w.number.messages.get(message_id)


def _template(w: Conformance) -> Any:
    import httpx

    r = httpx.post(
        w.server.url + "/v1/templates",
        headers={"x-api-key": w.number_key},
        json={
            "name": "conformance",
            "category": "UTILITY",
            "language": "pt_BR",
            "body": "Olá {{nome}}, tudo bem?",
            "examples": {"nome": "Ana"},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _number_change(w: Conformance, step: str) -> Any:
    """Delete, restore or purge a number of the step's own."""
    phone = {"delete": "+5511999996661", "restore": "+5511999996662", "purge": "+5511999996663"}[step]
    spare = w.tenant.numbers.create({"name": "Spare", "number": phone})["instance"]["id"]
    if step == "purge":
        return w.tenant.numbers.purge(spare)
    deleted = w.tenant.numbers.delete(spare)
    return deleted if step == "delete" else w.tenant.numbers.restore(spare)


def _remote_pairing(w: Conformance) -> Any:
    """A remote pairing link (an Evolution v2 number, the default); its token is kept."""
    created = w.tenant.numbers.remote_pairing({"name": "Remoto", "number": "+5511999993333"})
    w.state["remote_pairing_token"] = created["remotePairingToken"]
    return created


def _pairing_token(w: Conformance) -> str:
    return str(w.state.get("remote_pairing_token") or _remote_pairing(w)["remotePairingToken"])


CALLS: dict[tuple[str, str], Callable[[Conformance], Any]] = {
    ("messages", "send"): _send,
    ("messages", "get"): _get_message,
    ("messages", "history"): lambda w: w.number.messages.history(page_size=5),
    ("messages", "cancel"): lambda w: w.number.messages.cancel([w.state.get("message_id") or _send(w)["id"]]),
    ("analytics", "get_dashboard_stats"): lambda w: w.number.analytics.get_dashboard_stats(),
    ("projects", "create"): lambda w: w.tenant.projects.create({"name": "Campanhas", "description": "Q4"}),
    ("projects", "list"): lambda w: w.tenant.projects.list(),
    ("api_keys", "list"): lambda w: w.number.api_keys.list(),
    ("api_keys", "regenerate_number"): lambda w: w.tenant.api_keys.regenerate_number(
        w.tenant.numbers.create({"name": "Keys", "number": "+5511999995555"})["instance"]["id"]
    ),
    ("numbers", "list"): lambda w: w.tenant.numbers.list(),
    ("numbers", "create"): lambda w: w.tenant.numbers.create({"name": "Nova", "number": "+5511999994444"}),
    ("numbers", "get"): lambda w: w.tenant.numbers.get(w.number_id),
    ("numbers", "connect"): lambda w: w.tenant.numbers.connect(w.evolution_id),
    ("numbers", "get_status"): lambda w: w.tenant.numbers.get_status(w.number_id),
    ("numbers", "update"): lambda w: w.tenant.numbers.update(w.number_id, {"piiMode": "STORE_INDEFINITE"}),
    ("numbers", "update_settings"): lambda w: w.tenant.numbers.update_settings(
        w.number_id, {"markReadOnSend": True}
    ),
    ("numbers", "delete"): lambda w: _number_change(w, "delete"),
    ("numbers", "restore"): lambda w: _number_change(w, "restore"),
    ("numbers", "purge"): lambda w: _number_change(w, "purge"),
    ("numbers", "upgrade_to_dual"): lambda w: w.tenant.numbers.upgrade_to_dual(w.evolution_id),
    ("numbers", "remote_pairing"): lambda w: _remote_pairing(w),
    ("templates", "list"): lambda w: w.number.templates.list(),
    ("templates", "get"): lambda w: w.number.templates.get(w.state.setdefault("template", _template(w))),
    ("groups", "list"): lambda w: w.number.groups.list(),
    ("newsletters", "list"): lambda w: w.number.newsletters.list(),
    ("media", "download"): lambda w: w.meta.media.download(**w.meta_media),
    ("remote_pairing", "get_info"): lambda w: w.tenant.remote_pairing.get_info(_pairing_token(w)),
    ("remote_pairing", "get_status"): lambda w: w.tenant.remote_pairing.get_status(_pairing_token(w)),
    ("remote_pairing", "connect"): lambda w: w.tenant.remote_pairing.connect(_pairing_token(w)),
}


def test_every_core_method_is_covered() -> None:
    assert core_methods() == set(CALLS), "SDK core methods and the calls here differ"
    assert set(CALLS) >= PENDING


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(m, marks=pytest.mark.xfail(strict=True, reason="not built yet")) if m in PENDING else m
        for m in sorted(CALLS)
    ],
    ids=".".join,
)
def test_method_answers_in_the_sdks_types(world: Conformance, method: tuple[str, str]) -> None:
    resource, name = method
    result = CALLS[method](world)
    problems = conforms(result, returned_type(getattr(world.tenant, resource), name))
    assert problems == [], f"{resource}.{name} -> {result!r}"


def test_every_webhook_parses_with_the_sdk(world: Conformance) -> None:
    """Runs after the calls (module order): whatever they caused was delivered in the SDK's
    shape (message events of the sends, number events of the deletes and restores)."""
    _send(world)
    hooks = world.receiver.wait_for(lambda got: any(h.json()["event"] == "message.read" for h in got))
    events = set()
    for hook in hooks:
        parsed = parse_customer_webhook(hook.json(), unknown_events="raise")
        events.add(parsed["event"])
    assert {"message.sent", "message.delivered", "message.read"} <= events

"""Property-based tests of the API's error contract (issue 8): whatever a client sends to any
operation of ``/openapi.json`` (the ``/v1`` API and the public provider callbacks), the answer is
never a 5xx, and every answer with status >= 400 is a JSON object with a string ``error`` and a
string ``code``.

One real server (real database, real keys, the three provider simulators on loopback so that no
5xx can come from a missing upstream) serves the whole module; each test works on a number of
its own. Cases come from schemathesis (each operation's own schema, valid and invalid) and from
hostile-JSON strategies aimed at every body the API takes; what is accepted is read back, since
a value that is stored but cannot be shown again is the same bug one request later. A failure
prints its reproducer (method, path, headers, body) and the tail of the server's traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from tests.api_contract import Exchange, Gateway, Number, ServerErrors
from tests.conftest import TEST_SETTINGS, fresh_database_url
from tests.contract.worlds import META_APP_SECRET, start_sim, zapgate_settings
from tests.helpers import DEST
from tests.hostile_json import (
    ODD_DATES,
    hostile_like,
    hostile_scalars,
    hostile_strings,
    json_values,
    locations,
    mutations_of,
    phone_with_non_ascii_digits,
    replace_at,
    value_at,
)
from zapgate.container import build_container
from zapgate.services import tenants
from zapgate.settings import Settings
from zapgate.sim.common import SimThread
from zapgate.testing import ServerThread, reserve_port

# Bounded for CI (the module runs in about a minute on two cores); derandomize makes every run
# draw the same cases, so a red CI run reproduces locally. ZAPGATE_FUZZ_SCALE=10 digs ten times
# deeper. No explain phase: the reproducer and the server's traceback say more than
# Hypothesis's line coverage.
SCALE = int(os.environ.get("ZAPGATE_FUZZ_SCALE", "1"))
FUZZ = settings(
    max_examples=15 * SCALE,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
HOSTILE = settings(FUZZ, max_examples=40 * SCALE)

# Operations that need the workspace (tenant) key; every other /v1 operation takes a number key.
TENANT_OPERATIONS = {
    ("POST", "/v1/numbers"),
    ("POST", "/v1/numbers/meta"),
    ("DELETE", "/v1/numbers/{number_id}"),
    ("POST", "/v1/numbers/{number_id}/restore"),
    ("DELETE", "/v1/numbers/{number_id}/purge"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
}
# Pointed at a number of their own to destroy, not at the test's number.
DESTROYS_A_NUMBER = {
    ("DELETE", "/v1/numbers/{number_id}"),
    ("DELETE", "/v1/numbers/{number_id}/purge"),
    ("POST", "/v1/numbers/{number_id}/restore"),
}
# Rotates the key that calls it: each case calls with a number of its own, never the tenant key
# (the module's other tests use it).
ROTATES_ITS_KEY = {("POST", "/v1/api-keys/regenerate")}
# /v1/ routes that take no key (the remote pairing link: its token is the credential).
PUBLIC_V1 = "/v1/remote-pairing/"
AUTH_KINDS = (
    "right key",
    "right key",
    "right key",
    "other scope's key",
    "no key",
    "garbage key",
    "garbage key id",
)
UNAUTHENTICATED = {"no key", "garbage key", "garbage key id"}
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
# Webhook targets: public-looking (the URL checks run as in production) and never resolvable.
HOOK_URL = "https://hooks.zapgate.invalid/wa"
# Printable latin-1: what an HTTP header can carry.
HEADER_TEXT = st.text(st.characters(codec="latin-1", categories=["L", "N", "P", "S"]), max_size=50)


def documented_operations() -> list[tuple[str, str]]:
    """The operations of the OpenAPI document, read at collection time (building the app opens
    nothing: the database is only touched by its lifespan)."""
    from zapgate.web.app import create_app

    app = create_app(Settings(database_url="sqlite+aiosqlite://", environment="test", demo=False))
    return _operations(app.openapi())


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in HTTP_METHODS
    )


OPERATIONS = documented_operations()
V1_OPERATIONS = [op for op in OPERATIONS if op[1].startswith("/v1/")]


# The server's threads (workers, simulators) share this process's `random` module; Hypothesis
# takes their draws for a strategy using it and warns, which filterwarnings=error would turn
# into failures that are not the API's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies:hypothesis.errors.HypothesisDeprecationWarning"
)


# -- the module's server -----------------------------------------------------------------------


def _create_tenant(settings: Settings) -> str:
    async def run() -> str:
        container = build_container(settings)
        try:
            created = await tenants.create_tenant(container, name="Fuzz", plan="PAID")
            return created.tenant_key
        finally:
            await container.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(fresh_database_url(tmp_path_factory.mktemp("properties")))
        sock = reserve_port()
        port = sock.getsockname()[1]
        overrides: dict[str, Any] = {}
        sims: dict[str, SimThread] = {}
        for kind in ("meta", "evolution-v2", "evolution-go"):
            sim = start_sim(kind, f"http://127.0.0.1:{port}")
            assert sim is not None
            stack.callback(sim.stop)
            sims[kind] = sim
            overrides.update(zapgate_settings(kind, port, sim.url))
        settings_ = Settings(
            **{"database_url": db_url, **TEST_SETTINGS, **overrides, "allow_private_urls": False}
        )
        server = ServerThread(settings_, sock=sock)
        server.start()
        stack.callback(server.stop)
        errors = stack.enter_context(ServerErrors().installed())
        gw = Gateway(
            url=server.url,
            http=httpx.Client(base_url=server.url, timeout=30),
            session=stack.enter_context(requests.Session()),
            tenant_key=_create_tenant(settings_),
            errors=errors,
            sims=sims,
        )
        stack.callback(lambda: gw.http.close())
        yield gw


@pytest.fixture(scope="module")
def schema(gateway: Gateway) -> Any:
    """The server's own /openapi.json, as schemathesis reads it."""
    return schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")


@pytest.fixture
def number(gateway: Gateway) -> Number:
    return gateway.new_number()


def meta_number(gw: Gateway) -> dict[str, Any]:
    """A number the Meta simulator serves, fresh (a phone number id registers only once)."""
    n = next(gw.counter)
    body = {
        "name": "Meta",
        "number": f"+1555{n:07d}",
        "phoneNumberId": f"1{n:014d}",
        "wabaId": f"2{n:014d}",
        "accessToken": f"token-{n}",
        "appSecret": META_APP_SECRET,
    }
    gw.sims["meta"].control(
        "POST", "/_sim/numbers", {**body, "displayPhoneNumber": body["number"], "verifiedName": "Fuzz"}
    )
    return body


def things_of(number: Number) -> dict[str, str]:
    """A template, a webhook with one delivery and a message of the number (made once), for
    path parameters to point at."""
    if not number.things:
        gw, key = number.gateway, number.key
        template = gw.ok("POST", "/v1/templates", key, template_body(gw.unique("t_")))
        hook = gw.ok("POST", "/v1/webhooks", key, {"url": HOOK_URL, "events": "*"})
        queued = gw.ok("POST", f"/v1/webhooks/{hook['id']}/test", key)
        number.things.update(
            number_id=number.id,
            template_ref=template["id"],
            webhook_id=hook["id"],
            delivery_id=queued["deliveryId"],
            message_ref=number.message(),
        )
    return number.things


# -- valid bodies to start from ----------------------------------------------------------------


def template_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "category": "MARKETING",
        "language": "pt_BR",
        "body": {
            "header": {"type": "TEXT", "text": "Oferta {{produto}}"},
            "body": {"text": "Olá {{nome}}, use {{cupom}} hoje."},
            "footer": {"text": "Loja"},
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Quero"},
                {"type": "URL", "text": "Ver", "url": "https://loja.com/{{link}}"},
                {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511999999999"},
                {"type": "COPY_CODE", "text": "Copiar", "example": "CUPOM10"},
            ],
        },
        "examples": {"produto": "Tênis", "nome": "Ana", "cupom": "X10", "link": "promo"},
    }


def flat_template_body(name: str) -> dict[str, Any]:
    """The other accepted form: body as text, header / footer / buttons beside it."""
    return {
        "name": name,
        "category": "UTILITY",
        "language": "en_US",
        "body": "Hi {{name}}, your code is ready.",
        "header": {"type": "IMAGE", "url": "https://x.example/a.png"},
        "footer": "Shop",
        "buttons": [{"type": "URL", "text": "Open", "url": "https://shop.example/{{slug}}"}],
        "examples": {"name": "Ana", "slug": "abc"},
    }


def send_bodies(number: Number) -> list[dict[str, Any]]:
    later = datetime.now(UTC) + timedelta(days=1)
    return [
        {
            "destinationNumber": DEST,
            "text": "Escolha",
            "footer": "Loja",
            "header": {"type": "text", "content": "Oi"},
            "buttons": [
                {"type": "reply", "label": "Sim", "id": "yes"},
                {"type": "url", "label": "Site", "url": "https://loja.com"},
                {"type": "call", "label": "Ligar", "phoneNumber": "+5511999999999"},
            ],
            "labels": ["a", "b"],
            "markRead": True,
            "deliverAt": later.isoformat(),
            "deliverUntil": (later + timedelta(hours=1)).isoformat(),
        },
        {
            "destinationNumber": DEST,
            "templateId": "fuzz_send_template",
            "variables": {"nome": "Ana", "cupom": "X10", "produto": "Tênis", "link": "p"},
        },
        {
            "groupId": "120363012345678901@g.us",
            "media": "https://x.example/a.pdf",
            "mediaType": "document",
            "caption": "Nota",
            "fileName": "nota.pdf",
        },
        {
            "destinationNumber": DEST,
            "text": "Menu",
            "list": {
                "buttonText": "Abrir",
                "sections": [{"title": "S", "rows": [{"id": "r1", "title": "Um", "description": "d"}]}],
            },
        },
        {
            "destinationNumber": DEST,
            "carousel": {
                "cards": [
                    {
                        "media": {"type": "image", "url": "https://x.example/a.png"},
                        "body": "Card",
                        "buttons": [{"type": "QUICK_REPLY", "text": "Ok", "payload": "p"}],
                    }
                ]
            },
        },
        {
            "newsletterId": "120363012345678901@newsletter",
            "flow": {"flowId": "123", "cta": "Abrir", "action": "navigate", "screen": "S1"},
            "text": "Fluxo",
        },
    ]


def number_bodies(gw: Gateway) -> list[dict[str, Any]]:
    switches = {
        "historyImportEnabled": True,
        "webhookHistoricalMessages": False,
        "ignoreNewsletters": False,
        "markReadOnSend": True,
        "alwaysOnline": None,
        "rejectCall": True,
        "msgRejectCall": "Ocupado",
        "readMessages": None,
        "ignoreGroups": False,
        "ignoreStatus": None,
    }
    return [
        {
            "name": "Loja",
            "number": gw.unique_phone(),
            "provider": provider,
            "official": provider == "sandbox",
            "settings": switches,
        }
        for provider in ("sandbox", "evolution-v2", "evolution-go")
    ]


# -- 1. every documented operation, schema-driven ---------------------------------------------


def test_the_document_lists_the_operations_under_test(schema: Any) -> None:
    assert _operations(schema.raw_schema) == OPERATIONS


@pytest.mark.parametrize("operation", OPERATIONS, ids=" ".join)
def test_operation_keeps_the_error_contract(
    gateway: Gateway, schema: Any, number: Number, operation: tuple[str, str]
) -> None:
    """Valid and invalid cases from the operation's schema, with the right key, the other
    scope's key, no key or a garbage one; path parameters random or pointing at real things.
    On ``/v1`` without a usable key the answer is 401 UNAUTHORIZED, whatever else is wrong
    (the provider callbacks authenticate by signature instead)."""
    method, path = operation
    api_operation = schema[path][method]
    cases = st.one_of(
        api_operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        api_operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    keys = {"tenant": gateway.tenant_key, "number": number.key}
    scope, other = ("tenant", "number") if operation in TENANT_OPERATIONS else ("number", "tenant")
    keyed = path.startswith("/v1/") and not path.startswith(PUBLIC_V1)
    auth_kinds = AUTH_KINDS if keyed else ("no key",)
    if operation in ROTATES_ITS_KEY:
        auth_kinds = tuple(kind for kind in auth_kinds if kind != "other scope's key")
    refused = UNAUTHENTICATED if keyed else set()

    @FUZZ
    @given(case=cases, auth=st.sampled_from(auth_kinds), real_ids=st.booleans(), garbage=HEADER_TEXT)
    def run(case: Any, auth: str, real_ids: bool, garbage: str) -> None:
        if real_ids and case.path_parameters:
            real = dict(things_of(number))
            if operation in DESTROYS_A_NUMBER:
                real["number_id"] = gateway.new_number().id
            case.path_parameters.update({k: v for k, v in real.items() if k in case.path_parameters})
        own_key = gateway.new_number().key if operation in ROTATES_ITS_KEY else keys[scope]
        headers = {
            "right key": {"x-api-key": own_key},
            "other scope's key": {"x-api-key": keys[other]},
            "garbage key": {"x-api-key": garbage},
            "garbage key id": {"x-api-key-id": garbage},
        }.get(auth, {})
        gateway.errors.drain()
        response = case.call(base_url=gateway.url, session=gateway.session, headers=headers, timeout=30)
        if response.status_code >= 500:
            gateway.reconnect()
        exchange = _exchange(case, auth, headers, response)
        gateway.check(exchange, expect=401 if auth in refused else None)
        if auth in refused:
            assert _code(response.content) == "UNAUTHORIZED", exchange.describe([])

    run()


def _exchange(case: Any, auth: str, headers: dict[str, str], response: Any) -> Exchange:
    sent = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
    return Exchange(
        method=case.method.upper(),
        path=case.formatted_path,
        auth=auth,
        status=response.status_code,
        content_type=(response.headers.get("content-type") or [""])[0],
        content=response.content,
        body=None if case.body is NOT_SET else case.body,
        headers={**sent, **headers},
        query=case.query or {},
    )


def _code(content: bytes) -> Any:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


# -- 2. paths and methods that do not exist ---------------------------------------------------

SEGMENT = st.from_regex(r"[A-Za-z0-9._~%-]{1,12}", fullmatch=True)


@FUZZ
@given(
    method=st.sampled_from(HTTP_METHODS),
    segments=st.lists(SEGMENT, min_size=1, max_size=3),
    keyed=st.booleans(),
    prefix=st.sampled_from(["/v1/zz-", "/zz-", "/v2/", "/v1/numbers/x/"]),
)
def test_unknown_paths_answer_with_the_error_shape(
    gateway: Gateway, number: Number, method: str, segments: list[str], keyed: bool, prefix: str
) -> None:
    path = prefix + "/".join(segments)
    response = gateway.call(method, path, key=number.key if keyed else None)
    assert response.status_code >= 400, response.text


@FUZZ
@given(data=st.data())
def test_unsupported_methods_answer_with_the_error_shape(
    gateway: Gateway, number: Number, data: st.DataObject
) -> None:
    allowed: dict[str, set[str]] = {}
    for method, path in V1_OPERATIONS:
        allowed.setdefault(path, set()).add(method)
    methods = (*HTTP_METHODS, "OPTIONS")
    path = data.draw(
        st.sampled_from(sorted(p for p, ms in allowed.items() if set(methods) - ms)), label="path"
    )
    method = data.draw(st.sampled_from([m for m in methods if m not in allowed[path]]), label="method")
    concrete = re.sub(r"\{[^}]+\}", "x", path)
    response = gateway.call(method, concrete, key=number.key)
    assert response.status_code >= 400, response.text


# -- 3. hostile JSON in every body -------------------------------------------------------------


def _read_back_message(gw: Gateway, key: str, created: dict[str, Any]) -> None:
    for path in (f"/v1/messages/{created['id']}", f"/v1/messages/{created['id']}/events"):
        gw.call("GET", path, key=key)


def _read_back_template(gw: Gateway, key: str, created: dict[str, Any]) -> None:
    for path in (f"/v1/templates/{created['id']}", f"/v1/templates/{created['id']}/versions"):
        gw.call("GET", path, key=key)
    variables = {name: "x" for name in created.get("variables") or []}
    sent = gw.call(
        "POST",
        "/v1/messages/send",
        key=key,
        body={"destinationNumber": DEST, "templateId": created["id"], "variables": variables},
    )
    if sent.status_code == 202:
        _read_back_message(gw, key, sent.json())


def _read_back_number(gw: Gateway, key: str, created: dict[str, Any]) -> None:
    number_id = created.get("instance", created)["id"]
    for path in (f"/v1/numbers/{number_id}", f"/v1/numbers/{number_id}/status", "/v1/numbers"):
        gw.call("GET", path, key=gw.tenant_key)


def _read_back_webhook(gw: Gateway, key: str, created: dict[str, Any]) -> None:
    for path in (f"/v1/webhooks/{created['id']}", f"/v1/webhooks/{created['id']}/logs"):
        gw.call("GET", path, key=key)


def _nothing(gw: Gateway, key: str, created: dict[str, Any]) -> None:
    return None


NO_HEADERS: st.SearchStrategy[dict[str, str]] = st.just({})


@dataclass(frozen=True)
class Target:
    """An operation that takes a body: valid bodies to mutate (made afresh for every example,
    so names and phones never collide), where to send them, how to read back what it made."""

    method: str
    path: Callable[[Number], str]
    scope: str
    bases: Callable[[Number], list[dict[str, Any]]]
    read_back: Callable[[Gateway, str, dict[str, Any]], None] = _nothing
    headers: st.SearchStrategy[dict[str, str]] = NO_HEADERS


def _fixed(path: str) -> Callable[[Number], str]:
    return lambda number: path


def _new_template(number: Number) -> str:
    made = number.gateway.ok(
        "POST", "/v1/templates", number.key, template_body(number.gateway.unique("put_"))
    )
    return f"/v1/templates/{made['id']}"


def _new_webhook(number: Number) -> str:
    return f"/v1/webhooks/{things_of(number)['webhook_id']}"


TARGETS = {
    "send": Target(
        "POST",
        _fixed("/v1/messages/send"),
        "number",
        send_bodies,
        _read_back_message,
        NO_HEADERS | st.fixed_dictionaries({"Idempotency-Key": HEADER_TEXT}),
    ),
    "create template": Target(
        "POST",
        _fixed("/v1/templates"),
        "number",
        lambda n: [template_body(n.gateway.unique("tpl_")), flat_template_body(n.gateway.unique("tpl_"))],
        _read_back_template,
    ),
    "update template": Target(
        "PUT",
        _new_template,
        "number",
        lambda n: [
            template_body(n.gateway.unique("upd_")),
            {**flat_template_body(n.gateway.unique("upd_")), "category": "MARKETING"},
        ],
        _read_back_template,
    ),
    "create number": Target(
        "POST", _fixed("/v1/numbers"), "tenant", lambda n: number_bodies(n.gateway), _read_back_number
    ),
    "register Meta number": Target(
        "POST", _fixed("/v1/numbers/meta"), "tenant", lambda n: [meta_number(n.gateway)], _read_back_number
    ),
    "change number": Target(
        "PATCH",
        lambda n: f"/v1/numbers/{n.id}",
        "number",
        lambda n: [
            {
                "pacePerSecond": 5,
                "piiMode": "STORE_X_DAYS",
                "piiRetentionDays": 30,
                "settings": {"markReadOnSend": False, "msgRejectCall": "Ocupado", "alwaysOnline": None},
            }
        ],
        _read_back_number,
    ),
    "create webhook": Target(
        "POST",
        _fixed("/v1/webhooks"),
        "number",
        lambda n: [
            {
                "url": HOOK_URL,
                "name": "Hook",
                "events": ["message.sent", "message.read"],
                "whatsappNumberId": n.id,
            },
            {"url": "http://hooks.zapgate.invalid:8443/wa?x=1", "events": "*"},
        ],
        _read_back_webhook,
    ),
    "change webhook": Target(
        "PATCH",
        _new_webhook,
        "number",
        lambda n: [{"name": "Hook 2", "url": HOOK_URL + "/2", "active": False, "events": ["message.failed"]}],
        _read_back_webhook,
    ),
    "cancel": Target(
        "DELETE",
        _fixed("/v1/messages/cancel"),
        "number",
        lambda n: [{"messageIds": [things_of(n)["message_ref"], "msg_unknown"]}],
    ),
    "rotate key": Target("POST", _fixed("/v1/api-keys"), "tenant", lambda n: [{"whatsappNumberId": n.id}]),
    "sandbox inbound": Target(
        "POST",
        _fixed("/v1/sandbox/inbound"),
        "number",
        lambda n: [
            {"from": DEST, "text": "Oi", "name": "Maria", "quotedMessageId": things_of(n)["message_ref"]}
        ],
    ),
    "typing": Target(
        "POST",
        _fixed("/v1/messages/typing"),
        "number",
        lambda n: [{"destinationNumber": DEST, "durationMs": 1500}],
    ),
}


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_every_starting_body_is_accepted(gateway: Gateway, number: Number, target: str) -> None:
    """The hostile bodies start from these: each must be valid, or the mutations below would
    only ever exercise the first check that refuses them."""
    spec = TARGETS[target]
    if target == "send":
        gateway.ok("POST", "/v1/templates", number.key, template_body("fuzz_send_template"))
    key = gateway.tenant_key if spec.scope == "tenant" else number.key
    for base in spec.bases(number):
        response = gateway.call(spec.method, spec.path(number), key=key, body=base)
        assert response.status_code < 300, (base, response.text)


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_hostile_json_bodies(gateway: Gateway, number: Number, target: str) -> None:
    """Wrong types at any depth (objects for strings, lists, huge numbers, non-ASCII digits,
    out-of-range dates, empty objects) or any JSON value at all; what is accepted must read
    back."""
    spec = TARGETS[target]
    if target == "send":
        gateway.ok("POST", "/v1/templates", number.key, template_body("fuzz_send_template"))
    count = len(spec.bases(number))

    @HOSTILE
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        base = spec.bases(number)[data.draw(st.integers(0, count - 1), label="base")]
        body = data.draw(mutations_of(base), label="body")
        headers = data.draw(spec.headers, label="headers")
        key = gateway.tenant_key if spec.scope == "tenant" else number.key
        response = gateway.call(spec.method, spec.path(number), key=key, body=body, headers=headers)
        if response.status_code < 300:
            spec.read_back(gateway, key, response.json())

    run()


@HOSTILE
@given(
    raw=st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64).map(str.encode),
        json_values().map(lambda v: json.dumps(v).encode()[:-1]),
    ),
    target=st.sampled_from(sorted(TARGETS)),
)
def test_malformed_json_is_refused_with_400(
    gateway: Gateway, number: Number, raw: bytes, target: str
) -> None:
    """Bytes that are not JSON (binary, text, truncated JSON) sent as application/json."""
    spec = TARGETS[target]
    key = gateway.tenant_key if spec.scope == "tenant" else number.key
    gateway.call(
        spec.method,
        spec.path(number),
        key=key,
        raw=raw,
        headers={"content-type": "application/json"},
        expect=None if _is_json(raw) else 400,
    )


TEMPLATE_FORMS = (template_body, flat_template_body)
TEMPLATE_FIELDS = st.sampled_from(
    [(form, where) for form, make in enumerate(TEMPLATE_FORMS) for where in locations(make("x"))]
).flatmap(lambda loc: st.tuples(st.just(loc), hostile_like(value_at(TEMPLATE_FORMS[loc[0]]("x"), loc[1]))))


@HOSTILE
@given(field_value=TEMPLATE_FIELDS)
@example(field_value=((0, ("body", "buttons", 1, "type")), {}))
@example(field_value=((1, ("buttons", 0, "type")), ["URL"]))
@example(field_value=((1, ("header", "url")), "http://[::1"))
@example(field_value=((0, ("body", "buttons", 1, "url")), "https://[zz/{{link}}"))
def test_any_json_in_any_template_field_keeps_the_contract(
    gateway: Gateway, number: Number, field_value: tuple[tuple[int, tuple[Any, ...]], Any]
) -> None:
    """Every field of both template forms, at every depth, replaced by a near miss of its own
    kind or by any JSON value."""
    (form, where), value = field_value
    body = TEMPLATE_FORMS[form](gateway.unique("loc_"))
    replace_at(body, where, copy.deepcopy(value))
    response = gateway.call("POST", "/v1/templates", key=number.key, body=body)
    if response.status_code < 300:
        _read_back_template(gateway, number.key, response.json())


META_FIELDS = ("name", "number", "phoneNumberId", "wabaId", "accessToken", "appSecret")


@HOSTILE
@given(
    field_name=st.sampled_from(META_FIELDS),
    value=st.one_of(hostile_strings(), st.text(), hostile_scalars(), json_values()),
)
@example(field_name="accessToken", value="\x80")
@example(field_name="accessToken", value="token\nX-Injected: 1")
def test_any_value_in_any_meta_number_field_keeps_the_contract(
    gateway: Gateway, field_name: str, value: Any
) -> None:
    """The credentials go to the Graph API in headers and URLs: refused (400) or used, never a
    5xx; the simulator serves the number, so no 5xx can come from Meta itself."""
    body = {**meta_number(gateway), field_name: value}
    response = gateway.call("POST", "/v1/numbers/meta", key=gateway.tenant_key, body=body)
    if response.status_code < 300:
        _read_back_number(gateway, gateway.tenant_key, response.json())


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


# -- 4. what must be refused or must read back (today's known gaps included) -----------------

OFFSETS = (
    st.sampled_from([-(23 * 60 + 59), -12 * 60, -1, 1, 14 * 60, 23 * 60 + 59])
    | st.integers(-(23 * 60 + 59), 23 * 60 + 59)
).map(lambda minutes: timezone(timedelta(minutes=minutes)))
EDGE_DATETIMES = st.one_of(
    st.datetimes(timezones=OFFSETS),
    st.datetimes(min_value=datetime(9999, 12, 30), timezones=OFFSETS),
    st.datetimes(max_value=datetime(1, 1, 2), timezones=OFFSETS),
).map(datetime.isoformat)


@HOSTILE
@given(
    deliver_at=st.none() | EDGE_DATETIMES | st.sampled_from(ODD_DATES),
    deliver_until=EDGE_DATETIMES | st.sampled_from(ODD_DATES),
)
@example(deliver_at=None, deliver_until="9999-12-31T23:59:59-23:59")
def test_any_accepted_schedule_reads_back(
    gateway: Gateway, number: Number, deliver_at: str | None, deliver_until: str
) -> None:
    """``deliverAt`` / ``deliverUntil`` over the whole range datetime can write, any offset."""
    body: dict[str, Any] = {"destinationNumber": DEST, "text": "x", "deliverUntil": deliver_until}
    if deliver_at is not None:
        body["deliverAt"] = deliver_at
    response = gateway.call("POST", "/v1/messages/send", key=number.key, body=body)
    if response.status_code == 202:
        _read_back_message(gateway, number.key, response.json())
        gateway.call("GET", "/v1/messages", key=number.key, params={"pageSize": 1})


@HOSTILE
@given(
    start=st.none() | EDGE_DATETIMES | st.sampled_from(ODD_DATES),
    end=st.none() | EDGE_DATETIMES | st.sampled_from(ODD_DATES),
)
def test_any_date_range_filter_keeps_the_contract(
    gateway: Gateway, number: Number, start: str | None, end: str | None
) -> None:
    params = {k: v for k, v in (("startDate", start), ("endDate", end)) if v is not None}
    gateway.call("GET", "/v1/messages", key=number.key, params=params)


PHONE_FIELDS = (
    "send destinationNumber",
    "number",
    "template PHONE_NUMBER button",
    "send call button",
    "typing destinationNumber",
)


@HOSTILE
@given(phone=phone_with_non_ascii_digits(), where=st.sampled_from(PHONE_FIELDS))
@example(phone="+５５１１９８８８８７７７７", where="send destinationNumber")
@example(phone="+٥٥١١٩٨٨٨٨٧٧٧٧", where="number")
def test_phone_numbers_with_non_ascii_digits_are_refused(
    gateway: Gateway, number: Number, phone: str, where: str
) -> None:
    """E.164 is ASCII digits only (``\\d`` in a pattern also matches Arabic-Indic or
    fullwidth digits)."""
    key = number.key
    if where == "send destinationNumber":
        path, body = "/v1/messages/send", {"destinationNumber": phone, "text": "x"}
    elif where == "number":
        path, key = "/v1/numbers", gateway.tenant_key
        body = {"name": "Loja", "number": phone, "provider": "sandbox"}
    elif where == "template PHONE_NUMBER button":
        path, body = "/v1/templates", template_body(gateway.unique("phone_"))
        body["body"]["buttons"][2]["phone_number"] = phone
    elif where == "send call button":
        path, body = (
            "/v1/messages/send",
            {
                "destinationNumber": DEST,
                "text": "x",
                "buttons": [{"type": "call", "label": "Ligar", "phoneNumber": phone}],
            },
        )
    else:
        path, body = "/v1/messages/typing", {"destinationNumber": phone}
    gateway.call("POST", path, key=key, body=body, expect=400)


@HOSTILE
@given(
    card=st.one_of(
        st.just({}),
        st.dictionaries(
            st.sampled_from(["body", "buttons", "media", "title"]),
            st.one_of(st.none(), st.just(""), st.just({}), st.just([])),
            max_size=4,
        ),
    )
)
@example(card={})
def test_carousel_cards_need_media_and_body(gateway: Gateway, number: Number, card: dict[str, Any]) -> None:
    """Every carousel card carries its own media and body (Pilot Status API)."""
    valid = {"media": {"type": "image", "url": "https://x.example/a.png"}, "body": "Card"}
    gateway.call(
        "POST",
        "/v1/messages/send",
        key=number.key,
        expect=400,
        body={"destinationNumber": DEST, "carousel": {"cards": [valid, card]}},
    )


# -- 5. control characters, which PostgreSQL text cannot hold ---------------------------------

CONTROL_CHARACTERS = st.sampled_from(["\x00", "\x01", "\x1b", "\x7f", "\u2028", "\ufeff"])


def _string_fields(body: Any) -> list[tuple[Any, ...]]:
    return [where for where in locations(body) if isinstance(value_at(body, where), str)]


@HOSTILE
@given(
    target=st.sampled_from(sorted(TARGETS)),
    pick=st.integers(0, 999),
    char=CONTROL_CHARACTERS,
    at_end=st.booleans(),
)
@example(target="cancel", pick=0, char="\x00", at_end=True)
@example(target="send", pick=1, char="\x00", at_end=False)
def test_control_characters_in_any_string_field_keep_the_contract(
    gateway: Gateway, number: Number, target: str, pick: int, char: str, at_end: bool
) -> None:
    """One string field of a valid body (the ``pick``-th, cyclically) gets a control character:
    refused with 400 or stored and read back, never a 5xx (PostgreSQL refuses U+0000)."""
    spec = TARGETS[target]
    body = spec.bases(number)[0]
    fields = _string_fields(body)
    where = fields[pick % len(fields)]
    text = value_at(body, where)
    replace_at(body, where, text + char if at_end else char + text)
    key = gateway.tenant_key if spec.scope == "tenant" else number.key
    response = gateway.call(spec.method, spec.path(number), key=key, body=body)
    if response.status_code < 300:
        spec.read_back(gateway, key, response.json())


BY_REFERENCE = [op for op in V1_OPERATIONS if "{" in op[1] and op not in DESTROYS_A_NUMBER]


@HOSTILE
@given(
    operation=st.sampled_from(BY_REFERENCE),
    ref=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    char=CONTROL_CHARACTERS,
)
@example(operation=("GET", "/v1/messages/{message_ref}"), ref="msg_x", char="\x00")
def test_control_characters_in_path_parameters_keep_the_contract(
    gateway: Gateway, number: Number, operation: tuple[str, str], ref: str, char: str
) -> None:
    method, path = operation
    concrete = re.sub(r"\{[^}]+\}", quote(ref + char, safe=""), path)
    key = gateway.tenant_key if operation in TENANT_OPERATIONS else number.key
    gateway.call(method, concrete, key=key, body={} if method in ("POST", "PUT", "PATCH") else None)


# -- 6. query strings the document does not describe ------------------------------------------


@HOSTILE
@given(
    params=st.dictionaries(
        st.sampled_from(["page", "pageSize", "status", "startDate", "endDate", "destinationNumber", "label"]),
        # Cut to 500 characters: a longer query is refused by the client itself (httpx's URL
        # length limit), before it reaches the server.
        st.one_of(hostile_strings(), hostile_scalars().map(str)).map(lambda s: s[:500]),
        max_size=4,
    )
)
def test_message_list_filters_keep_the_contract(
    gateway: Gateway, number: Number, params: dict[str, str]
) -> None:
    """``GET /v1/messages`` reads page, pageSize, status, startDate, endDate,
    destinationNumber and label from the query string (none of them is in /openapi.json)."""
    gateway.call("GET", "/v1/messages", key=number.key, params=params)

"""Remote pairing (issue 12): ``POST /v1/numbers/remote-pairing`` and the public link, through
the SDK's ``remote_pairing`` resource, against the Evolution v2 simulator over loopback."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pilot_status import PilotStatusClient
from pilot_status.errors import PilotStatusHttpError

from tests.conftest import Api, wait_until
from tests.contract.worlds import EVOLUTION_KEY, make_world, start_sim
from tests.helpers import assert_error, sdk_transport
from zapgate.clock import FakeClock
from zapgate.testing import ServerThread

__all__ = ["make_world"]  # the fixture, used here

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
TOKEN = re.compile(r"^rp_[A-Za-z0-9_-]{40,}$")


def _sdk(server: ServerThread, key: str) -> PilotStatusClient:
    return PilotStatusClient(api_key=key, transport=sdk_transport(server.url))


def _create(api: Api, key: str, **body: Any) -> dict[str, Any]:
    r = api.post(
        "/v1/numbers/remote-pairing", key, json={"name": "Remoto", "number": "+5511999993333", **body}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def evolution(start_server: Callable[..., ServerThread]) -> Iterator[tuple[ServerThread, FakeClock]]:
    """A server on a fake clock with the Evolution v2 simulator (its callbacks go nowhere)."""
    sim = start_sim("evolution-v2", "http://127.0.0.1:9")
    assert sim is not None
    clock = FakeClock()
    try:
        yield start_server(clock=clock, evolution_url=sim.url, evolution_api_key=EVOLUTION_KEY), clock
    finally:
        sim.stop()


def test_pairing_link_through_the_sdk_until_the_number_is_connected(make_world: Any) -> None:
    w = make_world("evolution-v2")
    tenant = _sdk(w.server, w.tenant["key"])
    created: Any = tenant.numbers.remote_pairing(
        {"name": "Remoto", "number": "+55 11 99999-3333", "sendViaWhatsApp": True, "linkToApiKey": True}
    )
    instance, token = created["instance"], created["remotePairingToken"]
    assert TOKEN.match(token)
    assert created["remotePairingUrl"] == f"{w.server.url}/v1/remote-pairing/{token}"
    assert instance["integration"] == "evolution-v2" and instance["state"] != "OPEN"
    assert created["maskedNumber"] == "+55*******3333"
    assert created["messageSent"] is False and "does not send" in created["messageError"]
    assert created["linkedApiKeyId"] == created["apiKey"]["keyId"]
    assert created["expiresAt"].endswith("Z")

    info = tenant.remote_pairing.get_info(token)
    assert info["valid"] is True and info["name"] == "Remoto" and "reason" not in info
    assert info["maskedNumber"] == "+55*******3333" and info["secondaryLink"] is None
    status = tenant.remote_pairing.get_status(token)
    assert status["isFullyConnected"] is False and status["secondaryLink"] is None
    pairing = tenant.remote_pairing.connect(token)
    assert str(pairing["qrcodeBase64"]).startswith("data:image/png;base64,")
    assert pairing["pairingCode"]
    page = w.api.get(f"/v1/remote-pairing/{token}", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="data:image/png;base64,' in page.text and "+55*******3333" in page.text
    assert "Connected." not in page.text or "hidden" in page.text

    assert w.sim is not None
    w.sim.control("POST", f"/_sim/instances/zapgate-{instance['id']}/pair", {})
    wait_until(lambda: tenant.remote_pairing.get_status(token)["isFullyConnected"], timeout=15)
    used = tenant.remote_pairing.get_info(token)
    assert used["valid"] is False and used["reason"] == "USED" and used["state"] == "OPEN"
    assert_error(w.api.post(f"/v1/remote-pairing/{token}/connect"), 410, "REMOTE_PAIRING_USED")
    page = w.api.get(f"/v1/remote-pairing/{token}", headers=HTML)
    assert page.status_code == 200 and "Connected. This number is linked" in page.text
    assert 'id="pairing"' not in page.text


def test_unknown_tokens_are_404_in_json_and_html(server: ServerThread, api: Api) -> None:
    for path in ("/v1/remote-pairing/rp_unknown", "/v1/remote-pairing/rp_unknown/status"):
        assert_error(api.get(path), 404, "REMOTE_PAIRING_NOT_FOUND")
    assert_error(api.post("/v1/remote-pairing/rp_unknown/connect"), 404, "REMOTE_PAIRING_NOT_FOUND")
    page = api.get("/v1/remote-pairing/rp_unknown", headers=HTML)
    assert page.status_code == 404 and "Pairing link not found" in page.text
    # A NUL in the URL is not refused by authentication here (there is none): an unknown token.
    assert_error(api.get("/v1/remote-pairing/rp_%00abc"), 404, "REMOTE_PAIRING_NOT_FOUND")
    assert_error(api.get("/v1/remote-pairing/rp_abc/status?x=%00"), 404, "REMOTE_PAIRING_NOT_FOUND")
    with pytest.raises(PilotStatusHttpError) as caught:
        _sdk(server, "ps_none").remote_pairing.get_info("rp_" + "x" * 43)
    assert caught.value.status == 404


def test_an_expired_link_is_gone(
    evolution: tuple[ServerThread, FakeClock], api_for: Any, make_tenant: Any
) -> None:
    server, clock = evolution
    api = api_for(server)
    token = _create(api, make_tenant()["key"])["remotePairingToken"]
    assert api.get(f"/v1/remote-pairing/{token}/status").status_code == 200
    clock.advance(86_400)
    body = assert_error(api.get(f"/v1/remote-pairing/{token}"), 410, "REMOTE_PAIRING_EXPIRED")
    assert body["valid"] is False and body["reason"] == "EXPIRED"
    assert_error(api.get(f"/v1/remote-pairing/{token}/status"), 410, "REMOTE_PAIRING_EXPIRED")
    assert_error(api.post(f"/v1/remote-pairing/{token}/connect"), 410, "REMOTE_PAIRING_EXPIRED")
    page = api.get(f"/v1/remote-pairing/{token}", headers=HTML)
    assert page.status_code == 410 and "has expired" in page.text


def test_the_ttl_is_a_setting(
    start_server: Callable[..., ServerThread], api_for: Any, make_tenant: Any
) -> None:
    clock = FakeClock()
    server = start_server(clock=clock, remote_pairing_ttl_seconds=60)
    api = api_for(server)
    created = _create(api, make_tenant()["key"], provider="sandbox")
    assert created["expiresAt"] == _iso(clock.now_ms() + 60_000)


def _iso(ms: int) -> str:
    from zapgate.clock import iso

    return str(iso(ms))


def test_creation_takes_a_tenant_key(api: Api, tenant: dict[str, Any], number: dict[str, Any]) -> None:
    r = api.post("/v1/numbers/remote-pairing", number["key"], json={"name": "X", "number": "+5511999993333"})
    assert_error(r, 403, "NUMBER_SCOPE_NOT_ALLOWED")
    assert_error(api.post("/v1/numbers/remote-pairing", json={"name": "X"}), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"redirectUrl": "ftp://example.com/done"}, "redirectUrl"),
        ({"redirectUrl": "not a url"}, "redirectUrl"),
        ({"redirectUrl": 7}, "redirectUrl"),
        ({"externalRef": "x" * 201}, "externalRef"),
        ({"externalRef": 12}, "externalRef"),
        ({"linkToApiKey": "yes"}, "linkToApiKey"),
        ({"sendViaWhatsApp": 1}, "sendViaWhatsApp"),
        ({"number": "12"}, "number"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_bodies_create_nothing(
    api: Api, tenant: dict[str, Any], extra: dict[str, Any], field: str
) -> None:
    body = {"name": "Remoto", "number": "+5511999993333", "provider": "sandbox", **extra}
    found = assert_error(
        api.post("/v1/numbers/remote-pairing", tenant["key"], json=body), 400, "VALIDATION_ERROR"
    )
    assert field in {d["field"] for d in found["details"]}
    assert api.get("/v1/numbers", tenant["key"]).json() == []


def test_an_unconfigured_provider_is_refused(api: Api, tenant: dict[str, Any]) -> None:
    r = api.post("/v1/numbers/remote-pairing", tenant["key"], json={"name": "R", "number": "+5511999993333"})
    assert r.status_code == 503, r.text
    assert api.get("/v1/numbers", tenant["key"]).json() == []


def test_a_connected_number_redirects_with_its_external_ref(api: Api, tenant: dict[str, Any]) -> None:
    created = _create(
        api,
        tenant["key"],
        provider="sandbox",
        redirectUrl="https://crm.example.com/done?step=2",
        externalRef="lead 42",
    )
    token = created["remotePairingToken"]
    assert created["messageSent"] is False and "messageError" not in created
    assert created["redirectUrl"] == "https://crm.example.com/done?step=2"
    info = api.get(f"/v1/remote-pairing/{token}").json()
    assert info["valid"] is False and info["reason"] == "USED" and info["isFullyConnected"] is True
    page = api.get(f"/v1/remote-pairing/{token}", headers=HTML)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'content="3;url=https://crm.example.com/done?step=2&amp;externalRef=lead+42"' in page.text

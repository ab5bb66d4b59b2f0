"""What a first run in development meets: the API reference works offline, the demo is a
development-only default, and a webhook to a receiver on this machine is accepted and delivered
without extra settings (while other private targets stay refused, naming the setting)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.helpers import assert_error
from zapgate.settings import Settings

# src/href attributes, and url: / "url" values inside the inline script.
_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^'"]+)['"]""")


def _references(html: str) -> list[str]:
    return [a or b for a, b in _REFERENCES.findall(html)]


def test_docs_load_everything_from_the_server_itself(api, server):
    page = api.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert re.search(r"https?://", page.text) is None, page.text
    found = _references(page.text)
    assert any(ref.endswith(".js") for ref in found) and any(ref.endswith(".css") for ref in found)
    assert "/openapi.json" in found
    assert re.search(r"https?://|//[a-z]", "\n".join(found)) is None, found
    assert '"validatorUrl": null' in page.text  # no badge fetched from validator.swagger.io
    for ref in found:
        url = urljoin(server.url + "/docs", ref)
        assert urlsplit(url).netloc == urlsplit(server.url).netloc
        assert api.get(url).status_code == 200, url


def test_redoc_is_not_served(api):
    assert api.get("/redoc").status_code == 404


def test_vendored_swagger_ui_ships_with_its_licence(api):
    assert "Apache License" in api.get("/docs/static/LICENSE").text
    assert "SmartBear" in api.get("/docs/static/NOTICE").text


@pytest.mark.parametrize(
    ("environment", "demo"), [("development", True), ("test", False), ("production", False)]
)
def test_demo_is_on_by_default_in_development_only(environment, demo):
    settings = Settings(environment=environment, secret_key="s" * 40, _env_file=None)
    assert settings.demo is demo
    assert Settings(environment="production", secret_key="s" * 40, demo=True, _env_file=None).demo is True
    assert Settings(environment="development", demo=False, _env_file=None).demo is False


# --- webhooks to this machine in development ----------------------------------------------


@pytest.fixture
def dev_api(start_server, api_for):
    return api_for(start_server(environment="development", allow_private_urls=False))


def test_development_accepts_and_delivers_to_a_loopback_receiver(dev_api, make_tenant, receiver):
    key = dev_api.create_number(make_tenant()["key"])["key"]
    port = receiver.port
    for url in (receiver.url, f"http://localhost:{port}/hook"):
        r = dev_api.post("/v1/webhooks", key, json={"url": url, "events": "*"})
        assert r.status_code == 201, r.text
        assert dev_api.post(f"/v1/webhooks/{r.json()['id']}/test", key).status_code < 300
    received = receiver.wait_for(lambda items: len(items) >= 2)
    assert {item.path for item in received} == {"/hook"}


def test_development_still_refuses_other_private_targets_naming_the_setting(dev_api, make_tenant):
    key = dev_api.create_number(make_tenant()["key"])["key"]
    for url in ("http://10.0.0.7/hook", "http://192.168.0.2/hook", "http://169.254.169.254/"):
        body = assert_error(
            dev_api.post("/v1/webhooks", key, json={"url": url}), 400, "WEBHOOK_URL_NOT_ALLOWED"
        )
        assert "ZAPGATE_ALLOW_PRIVATE_URLS" in body["error"]


def test_outside_development_loopback_is_refused_naming_the_setting(
    start_server, api_for, make_tenant, receiver
):
    api = api_for(start_server(allow_private_urls=False))  # environment "test"
    key = api.create_number(make_tenant()["key"])["key"]
    body = assert_error(
        api.post("/v1/webhooks", key, json={"url": receiver.url}), 400, "WEBHOOK_URL_NOT_ALLOWED"
    )
    assert "ZAPGATE_ALLOW_PRIVATE_URLS" in body["error"]

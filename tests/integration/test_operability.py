"""Health, readiness, metrics, OpenAPI, settings and log redaction."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from tests.helpers import DEST, send
from zapgate import logging as zlog
from zapgate.settings import Settings


def test_health_ready_docs_and_dashboard_sign_in(api):
    assert api.get("/healthz").json() == {"ok": True}
    assert api.get("/readyz").json() == {"ok": True}
    home = api.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"].startswith("/login")
    assert api.get("/login").status_code == 200
    assert api.get("/docs").status_code == 200


def test_metrics_count_sends(api, number, wait):
    send(api, number["key"], {"destinationNumber": DEST, "text": "x"})
    send(api, number["key"], {"destinationNumber": "nope", "text": "x"})
    text = api.get("/metrics").text
    assert 'zapgate_sends_accepted_total{mode="text"} 1.0' in text
    assert "zapgate_provider_send_seconds" in text


def test_openapi_documents_every_route_with_the_error_shape(api):
    spec = api.get("/openapi.json").json()
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "code"]
    paths = spec["paths"]
    for path, method in [
        ("/v1/messages/send", "post"),
        ("/v1/messages/{message_ref}", "get"),
        ("/v1/messages", "get"),
        ("/v1/messages/cancel", "delete"),
        ("/v1/numbers", "post"),
        ("/v1/numbers", "get"),
        ("/v1/numbers/{number_id}", "get"),
        ("/v1/api-keys", "post"),
        ("/v1/api-keys", "get"),
        ("/v1/sandbox/inbound", "post"),
        ("/v1/templates", "post"),
        ("/v1/webhooks", "post"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    send_op = paths["/v1/messages/send"]["post"]
    assert "requestBody" in send_op
    for status in ("400", "401", "402", "403", "404", "409", "413", "429"):
        ref = send_op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"
    for path_item in paths.values():
        for op in path_item.values():
            if op.get("tags") and op["tags"][0] not in ("operations", "provider callbacks", "remote pairing"):
                assert "401" in op["responses"], op.get("operationId")


def test_openapi_documents_only_errors_that_happen_and_public_routes_need_no_key(api):
    """Validation failures are 400 ``{error, code}``: no 422 ``HTTPValidationError`` anywhere;
    health, metrics and provider callbacks take no API key."""
    spec = api.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    public = ("/healthz", "/readyz", "/metrics", "/webhooks/", "/v1/remote-pairing/")
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert "422" not in op["responses"], (method, path)
            if path.startswith(public):
                assert op["security"] == [], (method, path)
            else:
                assert "security" not in op, (method, path)  # the global API-key requirement
    assert spec["security"] == [{"ApiKey": []}, {"ApiKeyId": []}]
    for path, method in [
        ("/v1/messages/send", "post"),
        ("/v1/webhooks/{webhook_id}/logs", "get"),
        ("/v1/numbers/{number_id}", "patch"),
    ]:
        error = spec["paths"][path][method]["responses"]["400"]
        assert error["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
    # A typed parameter given the wrong type answers the documented 400, not 422.
    r = api.get("/v1/webhooks/wh_x/logs?limit=many", headers={"x-api-key": "ps_nope"})
    assert r.status_code in (400, 401) and set(r.json()) >= {"error", "code"}


def test_unknown_route_and_method_use_the_error_shape(api):
    r = api.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = api.put("/v1/messages/send")
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"


def test_production_refuses_placeholder_secret():
    with pytest.raises(ValidationError):
        Settings(environment="production", secret_key="changeme")
    Settings(environment="production", secret_key="x" * 40)


def test_secrets_are_redacted_in_logs(caplog):
    logger = logging.getLogger("zapgate.test")
    record = logging.LogRecord(
        "zapgate.test",
        logging.INFO,
        __file__,
        1,
        "key ps_abcdefghijklmnopqrstuvwxyz0123456789ABCD and "
        "whsec_c2VjcmV0c2VjcmV0c2VjcmV0 and x-api-key: ps_zzzzzzzzz",
        None,
        None,
    )
    record.fields = {"api_key": "ps_secret", "number": "wn_1"}
    line = zlog.JsonFormatter().format(record)
    assert "abcdefghij" not in line and "c2VjcmV0" not in line and "zzzzzzzz" not in line
    assert '"api_key": "***"' in line and "wn_1" in line
    assert logger.name == "zapgate.test"


def test_the_database_pool_size_is_a_setting(make_settings):
    """ZAPGATE_DB_POOL_SIZE connections kept per process (PostgreSQL; SQLite keeps three times
    as many read connections), up to twice that under load."""
    import asyncio

    from zapgate.container import build_container

    settings = make_settings(db_pool_size=3)

    async def sizes() -> tuple[int, int]:
        container = build_container(settings)
        try:
            pool = container.db.engine.pool
            return pool.size(), pool._max_overflow  # type: ignore[attr-defined]
        finally:
            await container.close()

    size, overflow = asyncio.run(sizes())
    expected = 3 if settings.database_url.startswith("postgresql") else 9
    assert (size, overflow) == (expected, expected)
    with pytest.raises(ValidationError):
        Settings(db_pool_size=0)


def test_an_unexpected_error_on_any_route_is_answered_and_logged_once(make_settings, caplog):
    """What no handler expected answers 500 ``INTERNAL_ERROR`` in the error shape, with the
    request id, and is logged once with its traceback; it is not raised on to the server
    (which would log it a second time)."""
    import asyncio

    import httpx

    from zapgate.web.app import create_app

    app = create_app(make_settings())

    async def boom() -> None:
        raise RuntimeError("kaput")

    app.add_api_route("/v1/boom", boom)

    async def call() -> httpx.Response:
        # raise_app_exceptions: an exception that reached the server would fail the call.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://zg") as client:
            return await client.get("/v1/boom")

    with caplog.at_level(logging.ERROR):
        r = asyncio.run(call())
    assert r.status_code == 500
    assert r.json() == {"error": "Internal server error", "code": "INTERNAL_ERROR"}
    assert r.headers["x-request-id"]
    logged = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert [rec.getMessage() for rec in logged] == ["unhandled error in GET /v1/boom"]
    assert logged[0].exc_info is not None and "kaput" in str(logged[0].exc_info[1])

"""Provider callbacks arrive on one generic pair of routes (``/webhooks/<path>`` for a kind with
one URL, ``/webhooks/<path>/<number>`` for a kind with a URL per number); the kind's adapter
authenticates them. Paths no kind serves, and the wrong shape for a kind, are refused clearly
and store nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tests.helpers import assert_error, with_container
from zapgate.container import Container
from zapgate.storage import tables as t
from zapgate.testing import ServerThread


async def _stored(container: Container) -> int:
    async with container.db.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(t.provider_events))).scalar_one()
        )


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/nowhere",  # no such kind
        "/webhooks/nowhere/wn_x",
        "/webhooks/meta/wn_x",  # Meta's callbacks share one URL
        "/webhooks/evolution",  # Evolution's name their number
        "/webhooks/evolution-go",
        "/webhooks/sandbox",  # the sandbox never calls back
        "/webhooks/sandbox/wn_x",
    ],
)
def test_only_each_kinds_own_callback_paths_take_callbacks(server: ServerThread, api: Api, path: str) -> None:
    """Not a callback route: not accepted, nothing stored (the dashboard's own ``/webhooks``
    pages share the prefix and answer as pages do)."""
    response = api.http.post(path, content=b"{}", headers={"content-type": "application/json"})
    assert response.status_code >= 300 and response.status_code != 401, response.text
    assert with_container(server.settings, _stored) == 0


def test_the_callback_routes_are_each_kinds_own(server: ServerThread, api: Api) -> None:
    """Every kind that calls back has its route; refusals come from its adapter."""
    for path in ("/webhooks/meta", "/webhooks/evolution/wn_x", "/webhooks/evolution-go/wn_x"):
        assert_error(api.http.post(path, content=b"{}"), 401, "INVALID_SIGNATURE")
    assert_error(
        api.http.get("/webhooks/meta", params={"hub.mode": "subscribe"}), 403, "INVALID_VERIFY_TOKEN"
    )
    assert with_container(server.settings, _stored) == 0


def test_the_dashboards_webhook_pages_are_not_callback_routes(api: Api) -> None:
    response = api.http.get("/webhooks/wh_someone", follow_redirects=False)
    assert response.status_code in (303, 404), response.text
    assert "provider callbacks" not in response.text

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
    ],
)
def test_a_path_no_kind_serves_is_404_and_stores_nothing(server: ServerThread, api: Api, path: str) -> None:
    response = api.http.post(path, content=b"{}", headers={"content-type": "application/json"})
    assert_error(response, 404, "NOT_FOUND")
    assert with_container(server.settings, _stored) == 0


def test_only_a_kind_with_a_subscription_check_answers_one(api: Api) -> None:
    assert_error(
        api.http.get("/webhooks/evolution", params={"hub.mode": "subscribe"}), 403, "INVALID_VERIFY_TOKEN"
    )
    assert_error(api.http.get("/webhooks/nowhere"), 404, "NOT_FOUND")
    assert_error(
        api.http.get("/webhooks/meta", params={"hub.mode": "subscribe"}), 403, "INVALID_VERIFY_TOKEN"
    )


def test_the_sandbox_has_no_callback_url(api: Api) -> None:
    assert_error(api.http.post("/webhooks/sandbox", content=b"{}"), 404, "NOT_FOUND")
    assert_error(api.http.post("/webhooks/sandbox/wn_x", content=b"{}"), 404, "NOT_FOUND")

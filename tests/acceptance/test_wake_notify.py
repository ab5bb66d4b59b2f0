"""API and worker on different machines share only PostgreSQL: an accepted send wakes the
worker through LISTEN/NOTIFY at once, not at its next poll."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from tests.acceptance.conftest import ZAPGATE, new_number_key
from tests.conftest import BACKEND, wait_until

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="LISTEN/NOTIFY is PostgreSQL's")


def test_an_accepted_send_wakes_a_worker_elsewhere_at_once(serve, serve_env, cli, tmp_path):
    # Polling every 30 s: only a nudge can get the message out within seconds.
    env = {**serve_env, "ZAPGATE_WORKER_POLL_INTERVAL": "30", "ZAPGATE_SWEEP_INTERVAL_SECONDS": "30"}
    api = serve(
        ZAPGATE_WORKER_POLL_INTERVAL="30", ZAPGATE_SWEEP_INTERVAL_SECONDS="30", ZAPGATE_RUN_WORKERS="0"
    )
    key = new_number_key(cli, serve_env, api.url, name="Far", phone="+5511955551111")
    with httpx.Client(base_url=api.url) as http:
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen([ZAPGATE, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            # The worker leases the number in its first tick, at its start; after that it
            # only polls every 30 s.
            wait_until(lambda: _lease_owners(env["ZAPGATE_DATABASE_URL"]), timeout=30)
            started = time.monotonic()
            sent = http.post(
                "/v1/messages/send",
                headers={"x-api-key": key},
                json={"destinationNumber": "+5511988887777", "text": "hi"},
            )
            message = f"/v1/messages/{sent.json()['id']}"
            wait_until(
                lambda: http.get(message, headers={"x-api-key": key}).json()["status"] != "QUEUED", timeout=10
            )
            assert time.monotonic() - started < 10
        finally:
            worker.terminate()
            worker.wait(timeout=20)
            log.close()


def _lease_owners(db_url: str) -> list[str]:
    import sqlalchemy as sa

    from tests.helpers import with_container
    from zapgate.settings import Settings
    from zapgate.storage import tables as t

    async def owners(c):  # type: ignore[no-untyped-def]
        async with c.db.read() as conn:
            return list((await conn.execute(sa.select(t.number_leases.c.owner))).scalars())

    result: list[str] = with_container(Settings(database_url=db_url, environment="test"), owners)
    return result

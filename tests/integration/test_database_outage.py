"""PostgreSQL going away under a running Zapgate: the API answers ``503 DATABASE_UNAVAILABLE``
(with ``Retry-After``) instead of ``500``, logs the outage once, and serves again as soon as the
database is back. A private PostgreSQL cluster of the test's own, on a port of its own (never
the shared server), is stopped and started."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SETTINGS, wait_until
from zapgate.settings import Settings
from zapgate.testing import ServerThread, free_port

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
pytestmark = pytest.mark.skipif(
    PG_BIN is None or not (PG_BIN / "initdb").exists(),
    reason="PostgreSQL server binaries (initdb, pg_ctl) not installed",
)


class Cluster:
    """``initdb`` + ``pg_ctl`` in a folder of its own (run as ``postgres`` when we are root:
    PostgreSQL refuses to run as root)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        self.start()

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.folder / "log"),
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    folder = Path("/tmp") / f"zapgate-pg-{os.getpid()}-{free_port()}"
    pg = Cluster(folder)
    pg.create()
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_api_answers_503_while_the_database_is_down_and_logs_it_once(
    cluster: Cluster, caplog: Any
) -> None:
    server = ServerThread(Settings(**{**TEST_SETTINGS, "database_url": cluster.url})).start()
    try:
        with httpx.Client(base_url=server.url) as http:
            key = _number_key(server)
            send = {"destinationNumber": "+5511988887777", "text": "hi"}
            assert http.post("/v1/messages/send", headers={"x-api-key": key}, json=send).status_code == 202
            cluster.stop()
            caplog.clear()
            with caplog.at_level(logging.INFO):
                answers = [
                    http.post("/v1/messages/send", headers={"x-api-key": key}, json=send) for _ in range(5)
                ]
                answers.append(http.get("/v1/messages", headers={"x-api-key": key}))
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.json()["code"] == "DATABASE_UNAVAILABLE"
                assert int(answer.headers["retry-after"]) >= 1
            warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
            # The API says it once; a worker loop that ran into the outage meanwhile says so
            # once too, on its own logger.
            outage_lines = [r for r in warnings if r.name.startswith("zapgate.web")]
            assert len(outage_lines) == 1, [r.getMessage() for r in warnings]
            messages = [r.getMessage() for r in warnings]
            assert len(messages) == len(set(messages)), messages
            assert "database" in outage_lines[0].getMessage().lower()
            assert not any(r.exc_info for r in outage_lines)  # no traceback per request
            cluster.start()
            wait_until(
                lambda: (
                    http.post("/v1/messages/send", headers={"x-api-key": key}, json=send).status_code == 202
                ),
                timeout=30,
            )
    finally:
        server.stop()


def _number_key(server: ServerThread) -> str:
    import asyncio

    from zapgate.container import build_container
    from zapgate.services import tenants

    async def run() -> str:
        container = build_container(server.settings)
        try:
            created = await tenants.create_tenant(container, name="Outage", plan="PAID")
            return created.tenant_key
        finally:
            await container.close()

    tenant_key = asyncio.run(run())
    with httpx.Client(base_url=server.url) as http:
        r = http.post(
            "/v1/numbers", headers={"x-api-key": tenant_key}, json={"name": "n", "number": "+5511955552222"}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["apiKey"]["key"])


def test_a_provider_answer_that_arrives_while_the_database_is_down_is_kept(
    cluster: Cluster, caplog: Any
) -> None:
    """The provider accepts a send while PostgreSQL is down: the worker keeps the answer and
    records it when the database is back. The message is SENT after one attempt; dropped, the
    answer would leave it QUEUED until its 30 s lease ended, then sent a second time."""
    settings = Settings(
        **{
            **TEST_SETTINGS,
            "database_url": cluster.url,
            "sandbox_send_latency": 2.0,
            "message_lease_seconds": 30.0,
        }
    )
    server = ServerThread(settings).start()
    try:
        with httpx.Client(base_url=server.url) as http:
            key = _number_key(server)
            sent = http.post(
                "/v1/messages/send",
                headers={"x-api-key": key},
                json={"destinationNumber": "+5511988887777", "text": "hi"},
            )
            message = f"/v1/messages/{sent.json()['id']}"
            wait_until(
                lambda: http.get(message, headers={"x-api-key": key}).json()["attempts"] == 1, timeout=10
            )  # in the provider's hands
            with caplog.at_level(logging.WARNING, logger="zapgate.dispatcher"):
                cluster.stop()
                wait_until(
                    lambda: any("keeping provider answers" in r.getMessage() for r in caplog.records),
                    timeout=15,
                )
            cluster.start()

            def recorded() -> dict[str, Any] | None:
                r = http.get(message, headers={"x-api-key": key})
                body: dict[str, Any] = r.json()
                return body if r.status_code == 200 and body["status"] != "QUEUED" else None

            body = wait_until(recorded, timeout=20)
            assert body["status"] in ("SENT", "DELIVERED", "READ"), body
            assert body["attempts"] == 1
    finally:
        server.stop()


def _sql(cluster: Cluster, *statements: str) -> list[Any]:
    import asyncio

    import asyncpg

    async def run() -> list[Any]:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=cluster.port, user="postgres", database="postgres"
        )
        try:
            return [await conn.fetch(statement) for statement in statements]
        finally:
            await conn.close()

    return asyncio.run(run())


def test_an_idempotency_key_is_free_again_soon_after_its_send_failed_in_an_outage(cluster: Cluster) -> None:
    """The key is reserved, then PostgreSQL goes down while the message is being written: the
    send fails (503) and freeing the key fails too. Once the database is back the key is freed
    within a second, so the client's retry with the same key is accepted, not refused as
    IDEMPOTENCY_KEY_IN_USE for the rest of the key's 60 s lock."""
    import threading

    server = ServerThread(Settings(**{**TEST_SETTINGS, "database_url": cluster.url})).start()
    try:
        key = _number_key(server)
        _sql(
            cluster,  # the next message insert stalls, so the outage can land inside it
            "CREATE TABLE slow_inserts (x int)",
            "INSERT INTO slow_inserts VALUES (1)",
            "CREATE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN IF EXISTS "
            "(SELECT 1 FROM slow_inserts) THEN PERFORM pg_sleep(10); END IF; RETURN NEW; END "
            "$$ LANGUAGE plpgsql",
            "CREATE TRIGGER slow BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION slow_insert()",
        )
        headers = {"x-api-key": key, "idempotency-key": "order-42"}
        send = {"destinationNumber": "+5511988887777", "text": "hi"}
        answers: list[httpx.Response] = []
        with httpx.Client(base_url=server.url, timeout=30) as http:
            first = threading.Thread(
                target=lambda: answers.append(http.post("/v1/messages/send", headers=headers, json=send))
            )
            first.start()
            wait_until(
                lambda: _sql(
                    cluster,
                    "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%messages%' AND wait_event = 'PgSleep'",
                )[0],
                timeout=10,
            )
            cluster.stop()
            first.join(timeout=30)
            assert answers[0].status_code == 503, answers[0].text
            cluster.start()
            _sql(cluster, "DELETE FROM slow_inserts")
            retried = wait_until(
                lambda: (
                    (r := http.post("/v1/messages/send", headers=headers, json=send)).status_code != 503 and r
                ),
                timeout=20,
            )
            if retried.status_code == 409:  # freed in the background within a second
                retried = wait_until(
                    lambda: (
                        (r := http.post("/v1/messages/send", headers=headers, json=send)).status_code == 202
                        and r
                    ),
                    timeout=5,
                )
            assert retried.status_code == 202, retried.text
    finally:
        server.stop()

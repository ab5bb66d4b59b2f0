"""``zapgate serve`` with its workers in a process of their own (ZAPGATE_WORKER_PROCESS): the
API relays its wake-ups to that process, which dies with ``serve`` and is restarted if it dies
alone."""

from __future__ import annotations

import signal
from typing import Any

import httpx
import psutil

from tests.acceptance.conftest import ServeProcess


def _workers(serve: ServeProcess) -> list[psutil.Process]:
    assert serve.proc is not None
    return [p for p in psutil.Process(serve.proc.pid).children()
            if "worker" in p.cmdline() and "--parent-pid" in p.cmdline()]


def _number(base: str, tenant_key: str) -> dict[str, Any]:
    r = httpx.post(f"{base}/v1/numbers", headers={"x-api-key": tenant_key}, json={
        "name": "Split", "number": "+5511988880001", "provider": "sandbox"})
    assert r.status_code == 201, r.text
    body = r.json()
    return {"id": body["instance"]["id"], "key": body["apiKey"]["key"]}


def _send_and_wait_read(base: str, key: str, wait: Any) -> None:
    r = httpx.post(f"{base}/v1/messages/send", headers={"x-api-key": key},
                   json={"destinationNumber": "+5511977770001", "text": "hi"})
    assert r.status_code == 202, r.text
    message_id = r.json()["id"]
    assert wait(lambda: httpx.get(f"{base}/v1/messages/{message_id}",
                                  headers={"x-api-key": key}).json()["status"] == "READ",
                timeout=30)


def test_serve_sends_through_its_worker_process_which_dies_with_it(serve, make_tenant, wait):
    server = serve(ZAPGATE_WORKER_PROCESS="on")
    workers = wait(lambda: _workers(server), timeout=30)
    assert len(workers) == 1
    number = _number(server.url, make_tenant()["key"])
    _send_and_wait_read(server.url, number["key"], wait)

    server.crash()  # kill -9 of serve: the worker process must not outlive it
    assert wait(lambda: not workers[0].is_running() or workers[0].status() == "zombie",
                timeout=15)


def test_a_worker_process_that_dies_is_started_again(serve, make_tenant, wait):
    server = serve(ZAPGATE_WORKER_PROCESS="on")
    first = wait(lambda: _workers(server), timeout=30)[0]
    first.send_signal(signal.SIGKILL)
    second = wait(lambda: [p for p in _workers(server) if p.pid != first.pid], timeout=30)
    assert len(second) == 1
    number = _number(server.url, make_tenant()["key"])
    _send_and_wait_read(server.url, number["key"], wait)


def test_without_a_worker_process_serve_runs_the_workers_itself(serve, make_tenant, wait):
    server = serve(ZAPGATE_WORKER_PROCESS="off")
    number = _number(server.url, make_tenant()["key"])
    _send_and_wait_read(server.url, number["key"], wait)
    assert _workers(server) == []

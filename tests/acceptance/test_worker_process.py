"""``zapgate serve`` with its workers in processes of their own (ZAPGATE_WORKER_PROCESS, two by
default, ZAPGATE_WORKER_PROCESSES): the API relays its wake-ups to them, they share the work,
die with ``serve`` and are restarted if one dies alone."""

from __future__ import annotations

import signal
from typing import Any

import httpx
import psutil

from tests.acceptance.conftest import ServeProcess


def _workers(serve: ServeProcess) -> list[psutil.Process]:
    """The live worker processes of ``serve`` (a killed one is a zombie until it is reaped: its
    command line can no longer be read)."""
    assert serve.proc is not None
    found = []
    for p in psutil.Process(serve.proc.pid).children():
        try:
            cmdline = p.cmdline()
        except psutil.Error:
            continue
        if "worker" in cmdline and "--parent-pid" in cmdline:
            found.append(p)
    return found


def _number(base: str, tenant_key: str, phone: str = "+5511988880001") -> dict[str, Any]:
    r = httpx.post(
        f"{base}/v1/numbers",
        headers={"x-api-key": tenant_key},
        json={"name": "Split", "number": phone, "provider": "sandbox"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return {"id": body["instance"]["id"], "key": body["apiKey"]["key"]}


def _send_and_wait_read(base: str, key: str, wait: Any) -> None:
    r = httpx.post(
        f"{base}/v1/messages/send",
        headers={"x-api-key": key},
        json={"destinationNumber": "+5511977770001", "text": "hi"},
    )
    assert r.status_code == 202, r.text
    message_id = r.json()["id"]
    assert wait(
        lambda: (
            httpx.get(f"{base}/v1/messages/{message_id}", headers={"x-api-key": key}).json()["status"]
            == "READ"
        ),
        # The worker processes run at nice +10: on a busy machine (CI runs two suites on two
        # cores) their start-up alone, imports included, took 25 s once.
        timeout=90,
    )


def _gone(process: psutil.Process) -> bool:
    return not process.is_running() or process.status() == "zombie"


def test_serve_sends_through_its_worker_processes_which_die_with_it(serve, make_tenant, wait):
    server = serve(ZAPGATE_WORKER_PROCESS="on")
    workers = wait(lambda: len(_workers(server)) == 2 and _workers(server), timeout=30)
    # Below the API in CPU priority (ZAPGATE_WORKER_NICE, 10 by default).
    api_nice = psutil.Process(server.proc.pid).nice()
    assert [w.nice() for w in workers] == [min(19, api_nice + 10)] * 2
    tenant_key = make_tenant()["key"]
    # Several numbers: the two processes share them (fair share of the number leases), and a
    # number's sends go through whichever owns it.
    numbers = [_number(server.url, tenant_key, f"+55119888800{i:02d}") for i in range(4)]
    for number in numbers:
        _send_and_wait_read(server.url, number["key"], wait)

    server.crash()  # kill -9 of serve: the worker processes must not outlive it
    assert wait(lambda: all(_gone(w) for w in workers), timeout=15)


def test_serve_runs_as_many_worker_processes_as_asked(serve, make_tenant, wait):
    server = serve(ZAPGATE_WORKER_PROCESS="on", ZAPGATE_WORKER_PROCESSES="1", ZAPGATE_WORKER_NICE="0")
    [worker] = wait(lambda: _workers(server), timeout=30)
    assert worker.nice() == psutil.Process(server.proc.pid).nice()
    number = _number(server.url, make_tenant()["key"])
    _send_and_wait_read(server.url, number["key"], wait)


def test_a_worker_process_that_dies_is_started_again(serve, make_tenant, wait):
    server = serve(ZAPGATE_WORKER_PROCESS="on")
    before = wait(lambda: len(_workers(server)) == 2 and _workers(server), timeout=30)
    first = before[0]
    first.send_signal(signal.SIGKILL)
    after = wait(
        lambda: (
            len(_workers(server)) == 2
            and first.pid not in {p.pid for p in _workers(server)}
            and _workers(server)
        ),
        timeout=30,
    )
    assert before[1].pid in {p.pid for p in after}  # the other one kept running
    number = _number(server.url, make_tenant()["key"])
    _send_and_wait_read(server.url, number["key"], wait)


def test_without_a_worker_process_serve_runs_the_workers_itself(serve, make_tenant, wait):
    server = serve(ZAPGATE_WORKER_PROCESS="off")
    number = _number(server.url, make_tenant()["key"])
    _send_and_wait_read(server.url, number["key"], wait)
    assert _workers(server) == []

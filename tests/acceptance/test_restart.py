"""A crash (SIGKILL) of ``zapgate serve`` with messages queued and webhooks pending loses
nothing: after a restart on the same database every accepted message reaches READ and every
webhook arrives, in order per message."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import httpx
import psutil

from tests.acceptance.conftest import new_number_key
from tests.conftest import wait_until


def test_crash_and_restart_loses_nothing(serve, serve_env, cli, receiver):
    healthy = threading.Event()
    receiver.respond = lambda _item: (200, {}, b"ok") if healthy.is_set() else (503, {}, b"down")
    # A slow number so that many messages are still queued at the crash.
    first = serve(ZAPGATE_SANDBOX_PACE_PER_SECOND="5", ZAPGATE_SANDBOX_MAX_IN_FLIGHT="2")
    key = new_number_key(cli, serve_env, first.url, name="Crash", phone="+5511955554444")
    with httpx.Client(base_url=first.url) as http:
        h = {"x-api-key": key}
        assert (
            http.post("/v1/webhooks", headers=h, json={"url": receiver.url, "events": "*"}).status_code == 201
        )
        ids = []
        for i in range(80):
            r = http.post(
                "/v1/messages/send",
                headers=h,
                json={"destinationNumber": f"+55119700{i:05d}", "text": f"m{i}"},
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        wait_until(lambda: receiver.snapshot(), timeout=20)
    first.crash()
    statuses = _statuses_in_db(serve_env["ZAPGATE_DATABASE_URL"])
    assert statuses.get("QUEUED", 0) > 10, f"the crash should find messages queued: {statuses}"
    assert sum(statuses.values()) == len(ids)

    healthy.set()
    healthy_at = time.time()
    second = serve()
    with httpx.Client(base_url=second.url, headers=h) as http:
        for m in ids:
            wait_until(lambda m=m: http.get(f"/v1/messages/{m}").json()["status"] == "READ", timeout=60)
    wanted = {(m, e) for m in ids for e in ("message.sent", "message.delivered", "message.read")}

    def delivered_ok():
        got = set()
        for item in receiver.snapshot():
            body = json.loads(item.body)
            if item.at >= healthy_at and body["event"].startswith("message."):
                got.add((body["data"]["id"], body["event"]))
        return wanted <= got

    wait_until(delivered_ok, timeout=60)
    # Per message, the first successful arrival of each event is in status order.
    order = defaultdict(list)
    seen = set()
    for item in receiver.snapshot():
        body = json.loads(item.body)
        if body["id"] in seen:
            continue
        if body["event"].startswith("message."):
            seen.add(body["id"])
            order[body["data"]["id"]].append(body["event"])
    for m in ids:
        events = [e for e in order[m] if e in ("message.sent", "message.delivered", "message.read")]
        assert events[:3] == ["message.sent", "message.delivered", "message.read"], (m, events)


def _statuses_in_db(db_url):
    import sqlalchemy as sa

    from tests.helpers import with_container
    from zapgate.settings import Settings
    from zapgate.storage import tables as t

    async def count(c):
        async with c.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.messages.c.status, sa.func.count()).group_by(t.messages.c.status)
                )
            ).all()
        return {status: n for status, n in rows}

    return with_container(Settings(database_url=db_url, environment="test"), count)


def _claimed_then_stranded(serve, cli, serve_env, **env):
    """A server whose sandbox holds every send for 30 s (claimed, message lease 60 s) and five
    messages in its hands; returns the server, the number key and the message ids."""
    server = serve(ZAPGATE_MESSAGE_LEASE_SECONDS="60", ZAPGATE_SANDBOX_SEND_LATENCY="30", **env)
    key = new_number_key(cli, serve_env, server.url, name="Lease", phone="+5511955553333")
    with httpx.Client(base_url=server.url) as http:
        ids = [
            http.post(
                "/v1/messages/send",
                headers={"x-api-key": key},
                json={"destinationNumber": f"+55119600{i:05d}", "text": f"m{i}"},
            ).json()["id"]
            for i in range(5)
        ]
        wait_until(
            lambda: all(
                http.get(f"/v1/messages/{m}", headers={"x-api-key": key}).json()["attempts"] >= 1 for m in ids
            ),
            timeout=20,
        )
    return server, key, ids


def _all_sent(url, key, ids, timeout):
    """Every message past QUEUED within ``timeout`` (the message lease is 60 s)."""
    with httpx.Client(base_url=url, headers={"x-api-key": key}) as http:
        for m in ids:
            wait_until(
                lambda m=m: http.get(f"/v1/messages/{m}").json()["status"] in ("SENT", "DELIVERED", "READ"),
                timeout=timeout,
            )


def test_after_a_crash_claimed_messages_move_within_the_number_lease(serve, serve_env, cli):
    """kill -9 of the only node while the provider holds five sends: after a restart they go
    out again once the dead worker's number lease (2 s here) runs out, not after their own
    60 s message lease."""
    first, key, ids = _claimed_then_stranded(serve, cli, serve_env, ZAPGATE_WORKER_PROCESS="off")
    first.crash()
    second = serve(ZAPGATE_WORKER_PROCESS="off", ZAPGATE_MESSAGE_LEASE_SECONDS="60")
    _all_sent(second.url, key, ids, timeout=20)


def test_a_killed_worker_process_s_messages_move_within_the_number_lease(serve, serve_env, cli):
    """Both worker processes of a running ``serve`` killed -9 with sends in the provider's
    hands: ``serve`` starts new ones, which take the numbers over and attempt those messages
    again within the number lease, not after the 60 s message lease (the sandbox still holds
    each send for 30 s, so the second attempt is what shows)."""
    server, key, ids = _claimed_then_stranded(serve, cli, serve_env, ZAPGATE_WORKER_PROCESS="on")
    children = psutil.Process(server.proc.pid).children()
    assert len(children) == 2
    for child in children:
        child.kill()
    with httpx.Client(base_url=server.url, headers={"x-api-key": key}) as http:
        for m in ids:
            wait_until(lambda m=m: http.get(f"/v1/messages/{m}").json()["attempts"] >= 2, timeout=20)


def test_a_stopped_node_gives_back_the_sends_it_could_not_finish(serve, serve_env, cli):
    """A graceful stop (SIGTERM) waits 10 s for the provider calls in flight, then cuts them
    off and frees their messages: the next node sends them at once, not after 60 s."""
    first, key, ids = _claimed_then_stranded(serve, cli, serve_env, ZAPGATE_WORKER_PROCESS="off")
    first.stop()
    second = serve(ZAPGATE_WORKER_PROCESS="off", ZAPGATE_MESSAGE_LEASE_SECONDS="60")
    _all_sent(second.url, key, ids, timeout=20)

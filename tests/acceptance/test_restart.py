"""A crash (SIGKILL) of ``zapgate serve`` with messages queued and webhooks pending loses
nothing: after a restart on the same database every accepted message reaches READ and every
webhook arrives, in order per message."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import httpx

from tests.conftest import wait_until


def test_crash_and_restart_loses_nothing(serve, serve_env, cli, receiver):
    healthy = threading.Event()
    receiver.respond = lambda _item: (200, {}, b"ok") if healthy.is_set() else (503, {}, b"down")
    # A slow number so that many messages are still queued at the crash.
    first = serve(ZAPGATE_SANDBOX_PACE_PER_SECOND="5", ZAPGATE_SANDBOX_MAX_IN_FLIGHT="2")
    tenant = json.loads(cli(serve_env, "admin", "create-tenant", "--name", "Crash", "--plan",
                            "PAID", "--json"))
    with httpx.Client(base_url=first.url) as http:
        created = http.post("/v1/numbers", headers={"x-api-key": tenant["tenantKey"]},
                            json={"name": "n", "number": "+5511955554444"})
        key = created.json()["apiKey"]["key"]
        h = {"x-api-key": key}
        assert http.post("/v1/webhooks", headers=h,
                         json={"url": receiver.url, "events": "*"}).status_code == 201
        ids = []
        for i in range(80):
            r = http.post("/v1/messages/send", headers=h, json={
                "destinationNumber": f"+55119700{i:05d}", "text": f"m{i}"})
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
            wait_until(lambda m=m: http.get(f"/v1/messages/{m}").json()["status"] == "READ",
                       timeout=60)
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
        events = [e for e in order[m] if e in ("message.sent", "message.delivered",
                                               "message.read")]
        assert events[:3] == ["message.sent", "message.delivered", "message.read"], (m, events)


def _statuses_in_db(db_url):
    import sqlalchemy as sa

    from tests.helpers import with_container
    from zapgate.settings import Settings
    from zapgate.storage import tables as t

    async def count(c):
        async with c.db.read() as conn:
            rows = (await conn.execute(sa.select(t.messages.c.status, sa.func.count())
                                       .group_by(t.messages.c.status))).all()
        return {status: n for status, n in rows}

    return with_container(Settings(database_url=db_url, environment="test"), count)

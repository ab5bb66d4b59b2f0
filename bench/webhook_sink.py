"""A webhook receiver for bench/e2e_sandbox.py: Starlette under uvicorn (HTTP/1.1 keep-alive,
like most real endpoints), answering 200 at once and keeping what arrived in memory.

POST /hook records (arrival time, event id, event, data.id); GET /summary returns counts;
GET /records returns every record.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

records: list[tuple[float, str, str, str]] = []


async def hook(request: Request) -> Response:
    at = time.time()
    try:
        body: dict[str, Any] = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        body = {}
    data = body.get("data") or {}
    records.append((at, str(body.get("id")), str(body.get("event")), str(data.get("id"))))
    return Response(b"ok")


async def summary(_request: Request) -> JSONResponse:
    ids = Counter(r[1] for r in records)
    return JSONResponse(
        {
            "total": len(records),
            "byEvent": Counter(r[2] for r in records),
            "readMessages": len({r[3] for r in records if r[2] == "message.read"}),
            "duplicates": sum(n - 1 for n in ids.values() if n > 1),
            "lastAt": max((r[0] for r in records), default=None),
        }
    )


async def all_records(_request: Request) -> Response:
    return Response(orjson.dumps(records), media_type="application/json")


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/hook", hook, methods=["POST"]),
        Route("/summary", summary),
        Route("/records", all_records),
        Route("/healthz", healthz),
    ]
)

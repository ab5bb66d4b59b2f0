"""The dashboard's place in the app. The full dashboard (login, numbers, keys, templates, log,
webhooks, playground) is the next milestone; until then ``/`` tells operators where things are."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Zapgate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem;
color:#1b1f23}code{background:#f1f3f5;padding:.1rem .3rem;border-radius:4px}a{color:#0b6e4f}</style>
</head><body>
<h1>Zapgate</h1>
<p>The gateway is running. The web dashboard is not part of this release yet.</p>
<ul>
<li><a href="/docs">API reference</a> (OpenAPI at <a href="/openapi.json">/openapi.json</a>)</li>
<li>Health: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>,
metrics: <a href="/metrics">/metrics</a></li>
</ul>
<p>Send a message with the number key printed by <code>zapgate serve</code>:
<code>POST /v1/messages/send</code>.</p>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
async def home() -> HTMLResponse:
    return HTMLResponse(_PAGE)

"""The demo workspace ``serve`` creates on an empty database, and the credentials it prints."""

from __future__ import annotations

import sqlalchemy as sa

from zapgate.container import build_container
from zapgate.services import numbers, tenants
from zapgate.settings import Settings
from zapgate.storage import migrate
from zapgate.storage import tables as t

DEMO_NUMBER = "+5511999990000"


async def ensure_demo(settings: Settings, *, host: str, port: int) -> str | None:
    """Create the demo workspace when the database has none; return what to print."""
    container = build_container(settings)
    try:
        await migrate.upgrade(container.db)
        async with container.db.read() as conn:
            exists = (await conn.execute(sa.select(t.workspaces.c.id).limit(1))).first()
        if exists is not None:
            return None
        await container.start()
        tenant = await tenants.create_tenant(container, name="Demo", plan="PAID",
                                             owner_email="demo@zapgate.local")
        created = await numbers.create_number(container, workspace_id=tenant.tenant_id, body={
            "name": "Demo sandbox", "number": DEMO_NUMBER, "provider": "sandbox"})
    finally:
        await container.close()
    number_key = created["apiKey"]["key"]
    base = f"http://{host}:{port}"
    return _banner(base, tenant, created["instance"]["id"], number_key)


def _banner(base: str, tenant: tenants.CreatedTenant, number_id: str, number_key: str) -> str:
    curl = f"curl -s {base}/v1/messages/send -H 'x-api-key: {number_key}' " \
           "-H 'content-type: application/json' -d"
    return "\n".join([
        "",
        "=== Zapgate demo workspace (shown once; kept in the database) ===",
        f"Dashboard:       {base}/   login {tenant.owner_email} / {tenant.owner_password}",
        f"Tenant key:      {tenant.tenant_key}",
        f"Sandbox number:  {number_id} ({DEMO_NUMBER})",
        f"Number key:      {number_key}",
        "",
        "Send a text:",
        f"  {curl} '{{\"destinationNumber\":\"+5511988887777\",\"text\":\"Hello from Zapgate\"}}'",
        "Send a template (create it first, see README):",
        f"  {curl} '{{\"destinationNumber\":\"+5511988887777\",\"templateId\":\"welcome\","
        "\"variables\":{\"name\":\"Ana\"}}'",
        "Send media:",
        f"  {curl} '{{\"destinationNumber\":\"+5511988887777\","
        "\"media\":\"https://example.com/cat.jpg\",\"mediaType\":\"image\",\"caption\":\"Hi\"}'",
        "Track it:",
        f"  curl -s {base}/v1/messages/<id> -H 'x-api-key: {number_key}'",
        "",
    ])

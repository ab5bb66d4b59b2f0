"""The demo workspace: ``serve`` creates it on an empty database (development only, see
``Settings.demo``) and prints its credentials once; ``zapgate demo`` issues new ones when they
are lost (keys and passwords are stored only as digests, so they cannot be shown again).

The workspace holds a connected sandbox number, the Pilot Status seed's example template
(``onboarding-test``, so the Pilot Status guide's first request works as written) and a first
message sent with it, so every request the banner prints can be run as printed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from zapgate import errors
from zapgate.container import Container, build_container
from zapgate.domain import template_rules
from zapgate.domain.template_commands import NewTemplate
from zapgate.services import keys, numbers, sending, templates, tenants, users
from zapgate.settings import Settings
from zapgate.storage import migrate
from zapgate.storage import tables as t

DEMO_EMAIL = "demo@zapgate.local"
DEMO_NUMBER = "+5511999990000"
DEMO_CONTACT = "+5511988887777"
# The example template of the Pilot Status seed, under the name its guide sends.
TEMPLATE_NAME = "onboarding-test"
TEMPLATE = {
    "name": TEMPLATE_NAME,
    "category": "UTILITY",
    "language": "en_US",
    "body": "Hi {{name}}, your order {{order_id}} is confirmed. Welcome aboard!",
    "examples": {"name": "John", "order_id": "123"},
}
TEMPLATE_SEND = {
    "destinationNumber": DEMO_CONTACT,
    "templateId": TEMPLATE_NAME,
    "variables": {"name": "John", "order_id": "123"},
}
TEXT_SEND = {"destinationNumber": DEMO_CONTACT, "text": "Hello from Zapgate"}
MEDIA_SEND = {
    "destinationNumber": DEMO_CONTACT,
    "media": "https://example.com/cat.jpg",
    "mediaType": "image",
    "caption": "Hi",
}
# The banner's last line; ``serve`` prints its own lines after it.
RECOVERY_HINT = (
    "Lost these? `zapgate demo` issues new ones (the old ones stop working); "
    "deleting the database (./zapgate.db by default) starts over."
)


@dataclass(frozen=True)
class DemoCredentials:
    email: str
    password: str
    tenant_key: str
    number_id: str
    number_key: str
    message_id: str


async def ensure_demo(settings: Settings, *, host: str, port: int) -> str | None:
    """Create the demo workspace when the database has none; return what to print."""
    container = build_container(settings)
    try:
        await migrate.upgrade(container.db)
        if await _any_workspace(container):
            return None
        await container.start()
        demo = await _create(container)
    finally:
        await container.close()
    return banner(base_url(host, port), demo)


async def reissue_demo(settings: Settings, *, host: str, port: int) -> str:
    """New credentials for the demo workspace (created if missing): a new password and new
    keys, the old ones revoked; the template is restored if it was deleted."""
    container = build_container(settings)
    try:
        await migrate.upgrade(container.db)
        await container.start()
        workspace_id = await _demo_workspace(container)
        demo = await (_create(container) if workspace_id is None else _reissue(container, workspace_id))
    finally:
        await container.close()
    return banner(base_url(host, port), demo)


async def _any_workspace(container: Container) -> bool:
    async with container.db.read() as conn:
        return (await conn.execute(sa.select(t.workspaces.c.id).limit(1))).first() is not None


async def _demo_workspace(container: Container) -> str | None:
    async with container.db.read() as conn:
        found = await conn.execute(sa.select(t.users.c.workspace_id).where(t.users.c.email == DEMO_EMAIL))
        return found.scalar()


async def _demo_number(container: Container, workspace_id: str) -> str | None:
    n = t.numbers.c
    async with container.db.read() as conn:
        found = await conn.execute(
            sa.select(n.id).where(
                n.workspace_id == workspace_id, n.number == DEMO_NUMBER.lstrip("+"), n.deleted_at.is_(None)
            )
        )
        return found.scalar()


async def _create(container: Container) -> DemoCredentials:
    tenant = await tenants.create_tenant(container, name="Demo", plan="PAID", owner_email=DEMO_EMAIL)
    number_id, number_key = await _add_number(container, tenant.tenant_id)
    return await _finish(
        container,
        tenant.tenant_id,
        number_id,
        number_key,
        email=tenant.owner_email,
        password=tenant.owner_password,
        tenant_key=tenant.tenant_key,
    )


async def _reissue(container: Container, workspace_id: str) -> DemoCredentials:
    password = await users.reset_password(container, email=DEMO_EMAIL)
    tenant_key = await keys.rotate_tenant_key(container, workspace_id=workspace_id)
    number_id = await _demo_number(container, workspace_id)
    if number_id is None:
        number_id, number_key = await _add_number(container, workspace_id)
    else:
        rotated = await keys.rotate_number_key(container, workspace_id=workspace_id, number_id=number_id)
        number_key = rotated.raw
    return await _finish(
        container,
        workspace_id,
        number_id,
        number_key,
        email=DEMO_EMAIL,
        password=password,
        tenant_key=tenant_key.raw,
    )


async def _add_number(container: Container, workspace_id: str) -> tuple[str, str]:
    created = await numbers.create_number(
        container,
        workspace_id=workspace_id,
        add=numbers.AddNumber(name="Demo sandbox", number=DEMO_NUMBER.lstrip("+"), provider="sandbox"),
    )
    return created.number.id, created.key.raw


async def _finish(
    container: Container, workspace_id: str, number_id: str, number_key: str, **credentials: str
) -> DemoCredentials:
    """Make sure the template exists and send it once, so the banner has a message to track."""
    template_id = await _ensure_template(container, number_id)
    sent = await sending.accept(
        container,
        workspace_id=workspace_id,
        number_id=number_id,
        body={**TEMPLATE_SEND, "templateId": template_id},
        idempotency_key=None,
    )
    return DemoCredentials(number_id=number_id, number_key=number_key, message_id=sent.id, **credentials)


async def _ensure_template(container: Container, number_id: str) -> str:
    stored_name = template_rules.normalize_name(TEMPLATE_NAME) or TEMPLATE_NAME
    try:
        found = await templates.get(container, number_id=number_id, ref=stored_name)
    except errors.NotFound:
        new = NewTemplate.of(template_rules.parse(TEMPLATE))
        found = await templates.create(container, number_id=number_id, new=new)
    return found.template.id


def base_url(host: str, port: int) -> str:
    """Where a client on this machine reaches a server listening on ``host``."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (a listening address, not a bind)
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def curl(base: str, key: str, path: str, body: dict[str, Any] | None = None) -> str:
    """A copy-pasteable ``curl`` command (what the banner prints, and tests run)."""
    parts = ["curl", "-s", f"{base}{path}", "-H", f"x-api-key: {key}"]
    if body is not None:
        parts += [
            "-H",
            "content-type: application/json",
            "-d",
            json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        ]
    return shlex.join(parts)


def banner(base: str, demo: DemoCredentials) -> str:
    key = demo.number_key
    send = "/v1/messages/send"
    return "\n".join(
        [
            "",
            "=== Zapgate demo workspace (shown once: keys and password are stored as digests) ===",
            f"Dashboard:       {base}/   login {demo.email} / {demo.password}",
            f"Tenant key:      {demo.tenant_key}",
            f"Sandbox number:  {demo.number_id} ({DEMO_NUMBER})",
            f"Number key:      {key}",
            "",
            "Send a text:",
            f"  {curl(base, key, send, TEXT_SEND)}",
            f"Send the template {TEMPLATE_NAME} ({TEMPLATE['body']}):",
            f"  {curl(base, key, send, TEMPLATE_SEND)}",
            "Send media:",
            f"  {curl(base, key, send, MEDIA_SEND)}",
            "Track the message the demo sent with that template (any send returns such an id):",
            f"  {curl(base, key, f'/v1/messages/{demo.message_id}')}",
            f"  {curl(base, key, f'/v1/messages/{demo.message_id}/events')}",
            "",
            RECOVERY_HINT,
        ]
    )

"""Message templates of a number: create, read, version on update, soft delete.

Every write runs in one transaction that first locks the number's row, so two writers of one
number cannot both take a free name (the schema has no unique index on live names). On numbers
whose provider needs template approval (official numbers) a new template or version starts
``PENDING``; the sandbox approves it at ``approve_at`` (the sweeper records it, and reads apply
it at once through :func:`sending.effective_template_status`). On Meta numbers the provider
is told first, outside the transaction: a new template is submitted, a new version of a
submitted one is an edit of Meta's template (same id), a delete deletes it at Meta.

The SQL is in ``storage.repositories.templates``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from zapgate import errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain import ids, template_rules
from zapgate.domain.template_rules import TemplateSpec
from zapgate.domain.templates import Template, TemplateVersion
from zapgate.providers import base
from zapgate.services import credentials, sending
from zapgate.storage.database import Connection

SOURCE = "PILOT_STATUS"


@dataclass(frozen=True)
class NumberScope:
    id: str
    workspace_id: str
    provider: str
    needs_approval: bool


# -- reads -----------------------------------------------------------------------------------


async def list_templates(container: Container, *, number_id: str) -> list[dict[str, Any]]:
    """The number's live templates, oldest first."""
    scope = await _scope(container, number_id)
    rows = await container.repos.templates.list_live(number_id)
    now = container.clock.now_ms()
    return [item(row, scope, now) for row in rows]


async def get(container: Container, *, number_id: str, ref: str) -> dict[str, Any]:
    """By id, else by name, among the number's live templates."""
    scope = await _scope(container, number_id)
    row = await container.repos.templates.get(number_id, ref)
    if row is None:
        raise _not_found(ref)
    return item(row, scope, container.clock.now_ms())


async def versions(container: Container, *, number_id: str, ref: str) -> dict[str, Any]:
    """Every version of a template, newest first (the current one with its live status)."""
    current = await get(container, number_id=number_id, ref=ref)
    rows = await container.repos.templates.versions(current["id"])
    return {
        "id": current["id"],
        "name": current["name"],
        "versions": [_version_item(r, current) for r in rows],
    }


# -- writes ----------------------------------------------------------------------------------


async def create(container: Container, *, number_id: str, body: Any) -> dict[str, Any]:
    spec = template_rules.parse(body)
    assert spec.name is not None and spec.category is not None and spec.language is not None
    scope = await _scope(container, number_id)
    now = container.clock.now_ms()
    template_id = ids.new_id("tpl")
    status, approve_at = _approval(container, scope, now)
    repo = container.repos.templates
    async with container.db.read() as conn:
        await _check_name_free(container, conn, number_id, spec.name, exclude_id=None)
    provider_template_id = await _submit(container, scope, spec)
    async with container.db.write() as conn:
        await repo.lock_number(conn, number_id)
        await _check_name_free(container, conn, number_id, spec.name, exclude_id=None)
        await repo.insert(
            conn,
            template_id=template_id,
            workspace_id=scope.workspace_id,
            number_id=number_id,
            spec=spec,
            source=SOURCE,
            status=status,
            approve_at=approve_at,
            provider_template_id=provider_template_id,
            now_ms=now,
        )
    container.template_cache.clear()
    return await get(container, number_id=number_id, ref=template_id)


async def update(container: Container, *, number_id: str, ref: str, body: Any) -> dict[str, Any]:
    """Full update of the content (omitted header/footer/buttons are removed). A changed content
    or language makes a new version; a rename alone does not; an identical body changes
    nothing (PUT stays idempotent). On Meta numbers a new version goes to review before it is
    stored (outside the write transaction: the review call is slow); if Meta refuses, nothing
    changes here."""
    given = template_rules.parse(body, partial=True)
    scope = await _scope(container, number_id)
    repo = container.repos.templates
    async with container.db.read() as conn:
        before = await _find(container, conn, number_id, ref)
    planned = template_rules.for_update(
        given, template_rules.Identity(before.name, before.category, before.language)
    )
    provider_template_id = (
        await _review(container, scope, before, planned) if _is_new_version(before, planned) else None
    )
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        await repo.lock_number(conn, number_id)
        row = await _find(container, conn, number_id, ref)
        spec = template_rules.for_update(given, template_rules.Identity(row.name, row.category, row.language))
        assert spec.name is not None
        if spec.name != row.name:
            await _check_name_free(container, conn, number_id, spec.name, exclude_id=row.id)
        if _is_new_version(row, spec):
            status, approve_at = _approval(container, scope, now)
            await repo.add_version(conn, row, spec, status=status, approve_at=approve_at, now_ms=now)
            if provider_template_id is not None:
                await repo.set_provider_template_id(conn, row.id, provider_template_id)
        elif spec.name != row.name:
            await repo.rename(conn, row.id, spec.name, now_ms=now)
    container.template_cache.clear()
    return await get(container, number_id=number_id, ref=row.id)


async def delete(container: Container, *, number_id: str, ref: str) -> dict[str, Any]:
    """Soft delete: sends and lookups stop finding it and its name becomes free. A template
    submitted to Meta is deleted there first; if Meta refuses or cannot be reached, the
    template stays (the error says why)."""
    async with container.db.read() as conn:
        before = await _find(container, conn, number_id, ref)
    if before.provider_template_id:
        scope = await _scope(container, number_id)
        await _withdraw(container, scope, before.name, before.provider_template_id)
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        row = await _find(container, conn, number_id, before.id)
        await container.repos.templates.soft_delete(conn, row.id, now_ms=now)
    container.template_cache.clear()
    return {"ok": True, "id": row.id}


def _is_new_version(row: Template, spec: TemplateSpec) -> bool:
    return bool(row.content != spec.content or row.language != spec.language)


# -- rules that need the number --------------------------------------------------------------


async def _scope(container: Container, number_id: str) -> NumberScope:
    owner = await container.repos.templates.owner(number_id)
    if owner is None:
        raise errors.NotFound("The key's number no longer exists", code="LINKED_WHATSAPP_INSTANCE_NOT_FOUND")
    caps = container.providers.get(owner.provider).capabilities(official=owner.official)
    return NumberScope(
        id=owner.id,
        workspace_id=owner.workspace_id,
        provider=owner.provider,
        needs_approval=caps.templates_need_approval,
    )


async def _submit(container: Container, scope: NumberScope, spec: TemplateSpec) -> str | None:
    """Meta reviews templates: submit the version to the WhatsApp Business Account and keep
    Meta's template id (its verdict arrives later as a callback)."""
    reviewer = await _reviewer(container, scope)
    if reviewer is None:
        return None
    submitter, ref = reviewer
    with _provider_edge():
        submission = await submitter.submit_template(ref, _provider_body(spec))
    return submission.provider_template_id


async def _review(container: Container, scope: NumberScope, row: Template, spec: TemplateSpec) -> str | None:
    """Send a new version to review; returns the provider's new template id, if any. A
    template Meta has under the same name and language is edited in place (Meta keeps its
    id); a renamed or relanguaged one is a different template at Meta, so it is submitted."""
    same_template = spec.name == row.name and spec.language == row.language
    if not (row.provider_template_id and same_template):
        return await _submit(container, scope, spec)
    reviewer = await _reviewer(container, scope)
    if reviewer is not None:
        submitter, ref = reviewer
        with _provider_edge():
            await submitter.edit_template(ref, row.provider_template_id, _provider_body(spec))
    return None


async def _withdraw(container: Container, scope: NumberScope, name: str, provider_template_id: str) -> None:
    reviewer = await _reviewer(container, scope)
    if reviewer is not None:
        submitter, ref = reviewer
        with _provider_edge():
            await submitter.delete_template(ref, name, provider_template_id)


async def _reviewer(
    container: Container, scope: NumberScope
) -> tuple[base.TemplateSubmitter, base.NumberRef] | None:
    """The provider that reviews the number's templates, with the number as it sees it."""
    submitter = container.providers.template_submitter(scope.provider)
    if submitter is None or not scope.needs_approval:
        return None
    number = await container.repos.templates.review_number(scope.id)
    return submitter, credentials.number_ref(container, number)


def _provider_body(spec: TemplateSpec) -> dict[str, Any]:
    return {"name": spec.name, "language": spec.language, "category": spec.category, "content": spec.content}


@contextlib.contextmanager
def _provider_edge() -> Iterator[None]:
    # The adapter's auth error is meant for sends (it marks the number); an API caller
    # managing templates gets a 503 that names the cause.
    try:
        yield
    except errors.ProviderAuthError as exc:
        raise errors.Unavailable(
            f"Meta refused the number's access token: {exc.message}", code="PROVIDER_AUTH_FAILED"
        ) from exc


def _approval(container: Container, scope: NumberScope, now: int) -> tuple[str | None, int | None]:
    """(meta_status, approve_at) of a new version. Only the sandbox approves by itself; a real
    provider reports the review's outcome later."""
    if not scope.needs_approval:
        return None, None
    if not container.providers.features(scope.provider).simulated:
        return "PENDING", None
    delay_ms = int(container.settings.sandbox_template_approval_seconds * 1000)
    return "PENDING", now + delay_ms


async def _check_name_free(
    container: Container, conn: Connection, number_id: str, name: str, *, exclude_id: str | None
) -> None:
    if await container.repos.templates.name_taken(conn, number_id, name, exclude_id=exclude_id):
        raise errors.Conflict(
            f"A template named {name!r} already exists on this number",
            code="TEMPLATE_NAME_TAKEN",
            details={"name": name},
        )


async def _find(container: Container, conn: Connection, number_id: str, ref: str) -> Template:
    row = await container.repos.templates.find(conn, number_id, ref, for_update=True)
    if row is None:
        raise _not_found(ref)
    return row


def _not_found(ref: str) -> errors.NotFound:
    return errors.NotFound(f"Template {ref!r} not found for this number", code="TEMPLATE_NOT_FOUND")


# -- response shapes -------------------------------------------------------------------------


def item(row: Template, scope: NumberScope, now: int) -> dict[str, Any]:
    """A template as the API shows it: the SDK's TemplateListItem/TemplateDetail and more."""
    status = sending.effective_template_status(row, now)
    content = row.content
    return {
        "id": row.id,
        "name": row.name,
        "category": row.category,
        "language": row.language,
        "body": template_rules.public_body(content),
        "variables": list(row.variables),
        "examples": dict(content.get("examples") or {}),
        "source": row.source,
        "metaStatus": status,
        "metaLanguage": row.language if scope.needs_approval else None,
        "sendable": not scope.needs_approval or status == "APPROVED",
        "rejectionReason": row.rejection_reason,
        "latestVersion": {
            "id": row.version_id,
            "version": row.version,
            "metaStatus": status,
            "createdAt": iso(row.version_created_at),
            "approveAt": iso(row.approve_at),
        },
        "version": row.version,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
    }


def _version_item(row: TemplateVersion, current: dict[str, Any]) -> dict[str, Any]:
    is_current = row.version == current["version"]
    return {
        "id": row.id,
        "version": row.version,
        "current": is_current,
        "metaStatus": current["metaStatus"] if is_current else row.meta_status,
        "body": template_rules.public_body(row.content),
        "variables": list(row.variables),
        "examples": dict(row.content.get("examples") or {}),
        "createdAt": iso(row.created_at),
    }

"""Message templates of a number: create, read, version on update, soft delete.

Every write runs in one transaction that first locks the number's row, so two writers of one
number cannot both take a free name (the schema has no unique index on live names). On numbers
whose provider needs template approval (official numbers) a new template or version starts
``PENDING``; the sandbox approves it at ``approve_at`` (the sweeper records it, and reads apply
it at once through :func:`sending.effective_template_status`). On Meta numbers the provider
is told first, outside the transaction: a new template is submitted, a new version of a
submitted one is an edit of Meta's template (same id), a delete deletes it at Meta.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain import ids, template_rules
from zapgate.domain.template_rules import TemplateSpec
from zapgate.providers import base
from zapgate.services import credentials, sending
from zapgate.storage import tables as t

SOURCE = "PILOT_STATUS"
_tpl = t.templates.c
_ver = t.template_versions.c


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
    query = _with_latest_version().where(_tpl.number_id == number_id, _tpl.deleted_at.is_(None))
    async with container.db.read() as conn:
        rows = (await conn.execute(query.order_by(_tpl.created_at, _tpl.id))).all()
    now = container.clock.now_ms()
    return [item(row, scope, now) for row in rows]


async def get(container: Container, *, number_id: str, ref: str) -> dict[str, Any]:
    """By id, else by name, among the number's live templates."""
    scope = await _scope(container, number_id)
    query = _with_latest_version().where(_live_ref(number_id, ref)).order_by(_id_first(ref))
    async with container.db.read() as conn:
        row = (await conn.execute(query.limit(1))).first()
    if row is None:
        raise _not_found(ref)
    return item(row, scope, container.clock.now_ms())


async def versions(container: Container, *, number_id: str, ref: str) -> dict[str, Any]:
    """Every version of a template, newest first (the current one with its live status)."""
    current = await get(container, number_id=number_id, ref=ref)
    query = (
        sa.select(t.template_versions).where(_ver.template_id == current["id"]).order_by(_ver.version.desc())
    )
    async with container.db.read() as conn:
        rows = (await conn.execute(query)).all()
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
    async with container.db.read() as conn:
        await _check_name_free(conn, number_id, spec.name, exclude_id=None)
    provider_template_id = await _submit(container, scope, spec)
    async with container.db.write() as conn:
        await _lock_number(conn, number_id)
        await _check_name_free(conn, number_id, spec.name, exclude_id=None)
        await conn.execute(
            sa.insert(t.templates).values(
                id=template_id,
                workspace_id=scope.workspace_id,
                number_id=number_id,
                name=spec.name,
                category=spec.category,
                language=spec.language,
                content=spec.content,
                variables=list(spec.variables),
                version=1,
                source=SOURCE,
                meta_status=status,
                approve_at=approve_at,
                provider_template_id=provider_template_id,
                created_at=now,
                updated_at=now,
            )
        )
        await _insert_version(conn, template_id, 1, spec, status, now)
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
    async with container.db.read() as conn:
        before = await _find(conn, number_id, ref)
    planned = template_rules.for_update(
        given, template_rules.Identity(before.name, before.category, before.language)
    )
    provider_template_id = (
        await _review(container, scope, before, planned) if _is_new_version(before, planned) else None
    )
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        await _lock_number(conn, number_id)
        row = await _find(conn, number_id, ref)
        spec = template_rules.for_update(given, template_rules.Identity(row.name, row.category, row.language))
        assert spec.name is not None
        if spec.name != row.name:
            await _check_name_free(conn, number_id, spec.name, exclude_id=row.id)
        if _is_new_version(row, spec):
            await _new_version(conn, container, scope, row, spec, now)
            if provider_template_id is not None:
                await conn.execute(
                    sa.update(t.templates)
                    .where(_tpl.id == row.id)
                    .values(provider_template_id=provider_template_id)
                )
        elif spec.name != row.name:
            await conn.execute(
                sa.update(t.templates).where(_tpl.id == row.id).values(name=spec.name, updated_at=now)
            )
    container.template_cache.clear()
    return await get(container, number_id=number_id, ref=row.id)


async def delete(container: Container, *, number_id: str, ref: str) -> dict[str, Any]:
    """Soft delete: sends and lookups stop finding it and its name becomes free. A template
    submitted to Meta is deleted there first; if Meta refuses or cannot be reached, the
    template stays (the error says why)."""
    async with container.db.read() as conn:
        before = await _find(conn, number_id, ref)
    if before.provider_template_id:
        await _withdraw(container, await _scope(container, number_id), before)
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        row = await _find(conn, number_id, before.id)
        await conn.execute(
            sa.update(t.templates).where(_tpl.id == row.id).values(deleted_at=now, updated_at=now)
        )
    container.template_cache.clear()
    return {"ok": True, "id": row.id}


def _is_new_version(row: Any, spec: TemplateSpec) -> bool:
    return bool(row.content != spec.content or row.language != spec.language)


async def _new_version(
    conn: AsyncConnection, container: Container, scope: NumberScope, row: Any, spec: TemplateSpec, now: int
) -> None:
    version = int(row.version) + 1
    status, approve_at = _approval(container, scope, now)
    await conn.execute(
        sa.update(t.templates)
        .where(_tpl.id == row.id)
        .values(
            name=spec.name,
            language=spec.language,
            content=spec.content,
            variables=list(spec.variables),
            version=version,
            meta_status=status,
            approve_at=approve_at,
            rejection_reason=None,
            updated_at=now,
        )
    )
    await _insert_version(conn, row.id, version, spec, status, now)


async def _insert_version(
    conn: AsyncConnection, template_id: str, version: int, spec: TemplateSpec, status: str | None, now: int
) -> None:
    await conn.execute(
        sa.insert(t.template_versions).values(
            id=ids.new_id("tplv"),
            template_id=template_id,
            version=version,
            content=spec.content,
            variables=list(spec.variables),
            meta_status=status,
            created_at=now,
        )
    )


# -- rules that need the number --------------------------------------------------------------


async def _scope(container: Container, number_id: str) -> NumberScope:
    n = t.numbers.c
    query = sa.select(n.id, n.workspace_id, n.provider, n.official).where(
        n.id == number_id, n.deleted_at.is_(None)
    )
    async with container.db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        raise errors.NotFound("The key's number no longer exists", code="LINKED_WHATSAPP_INSTANCE_NOT_FOUND")
    caps = container.providers.get(row.provider).capabilities(official=bool(row.official))
    return NumberScope(
        id=row.id,
        workspace_id=row.workspace_id,
        provider=row.provider,
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


async def _review(container: Container, scope: NumberScope, row: Any, spec: TemplateSpec) -> str | None:
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


async def _withdraw(container: Container, scope: NumberScope, row: Any) -> None:
    reviewer = await _reviewer(container, scope)
    if reviewer is not None:
        submitter, ref = reviewer
        with _provider_edge():
            await submitter.delete_template(ref, row.name, row.provider_template_id)


async def _reviewer(
    container: Container, scope: NumberScope
) -> tuple[base.TemplateSubmitter, base.NumberRef] | None:
    """The provider that reviews the number's templates, with the number as it sees it."""
    submitter = container.providers.template_submitter(scope.provider)
    if submitter is None or not scope.needs_approval:
        return None
    async with container.db.read() as conn:
        row = (await conn.execute(sa.select(t.numbers).where(t.numbers.c.id == scope.id))).one()
    return submitter, credentials.number_ref(container, row)


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


async def _lock_number(conn: AsyncConnection, number_id: str) -> None:
    # Serialises template writes of one number (FOR UPDATE is a no-op on SQLite, which
    # already has a single writer).
    await conn.execute(sa.select(t.numbers.c.id).where(t.numbers.c.id == number_id).with_for_update())


async def _check_name_free(
    conn: AsyncConnection, number_id: str, name: str, *, exclude_id: str | None
) -> None:
    query = sa.select(_tpl.id).where(
        _tpl.number_id == number_id, _tpl.name == name, _tpl.deleted_at.is_(None)
    )
    if exclude_id is not None:
        query = query.where(_tpl.id != exclude_id)
    if (await conn.execute(query.limit(1))).first() is not None:
        raise errors.Conflict(
            f"A template named {name!r} already exists on this number",
            code="TEMPLATE_NAME_TAKEN",
            details={"name": name},
        )


async def _find(conn: AsyncConnection, number_id: str, ref: str) -> Any:
    query = (
        sa.select(t.templates)
        .where(_live_ref(number_id, ref))
        .order_by(_id_first(ref))
        .limit(1)
        .with_for_update()
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise _not_found(ref)
    return row


def _live_ref(number_id: str, ref: str) -> Any:
    return sa.and_(
        _tpl.number_id == number_id,
        _tpl.deleted_at.is_(None),
        sa.or_(_tpl.id == ref, _tpl.name.in_([ref, template_rules.normalize_name(ref) or ref])),
    )


def _id_first(ref: str) -> Any:
    return sa.case((_tpl.id == ref, 0), else_=1)


def _not_found(ref: str) -> errors.NotFound:
    return errors.NotFound(f"Template {ref!r} not found for this number", code="TEMPLATE_NOT_FOUND")


def _with_latest_version() -> Any:
    """Templates with their current version's id and creation time."""
    joined = t.templates.outerjoin(
        t.template_versions, sa.and_(_ver.template_id == _tpl.id, _ver.version == _tpl.version)
    )
    return sa.select(
        t.templates, _ver.id.label("version_id"), _ver.created_at.label("version_created_at")
    ).select_from(joined)


# -- response shapes -------------------------------------------------------------------------


def item(row: Any, scope: NumberScope, now: int) -> dict[str, Any]:
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


def _version_item(row: Any, current: dict[str, Any]) -> dict[str, Any]:
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

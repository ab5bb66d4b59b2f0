"""Message templates of a number: create, read, version on update, soft delete.

Every write runs in one transaction that first locks the number's row, so two writers of one
number cannot both take a free name (the schema has no unique index on live names). On numbers
whose provider needs template approval (official numbers) a new template or version starts
``PENDING``; the sandbox approves it at ``approve_at`` (the sweeper records it, and reads apply
it at once through :func:`sending.effective_template_status`). On Meta numbers the provider
is told first, outside the transaction: a new template is submitted, a new version of a
submitted one is an edit of Meta's template (same id), a delete deletes it at Meta.

It takes checked bodies (:mod:`zapgate.domain.template_commands`) and returns records
(:class:`TemplateItem`, :class:`TemplateHistory`); ``web.views.templates`` parses the bodies and
makes the API's JSON. The SQL is in ``storage.repositories.templates``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids, template_rules
from zapgate.domain.template_commands import NewTemplate, TemplateChange
from zapgate.domain.template_rules import TemplateSpec
from zapgate.domain.templates import Template, TemplateHistory, TemplateItem, TemplateVersion, VersionEntry
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


async def list_templates(container: Container, *, number_id: str) -> tuple[TemplateItem, ...]:
    """The number's live templates, oldest first."""
    scope = await _scope(container, number_id)
    rows = await container.repos.templates.list_live(number_id)
    now = container.clock.now_ms()
    return tuple(_item(row, scope, now) for row in rows)


async def get(container: Container, *, number_id: str, ref: str) -> TemplateItem:
    """By id, else by name, among the number's live templates."""
    scope = await _scope(container, number_id)
    row = await container.repos.templates.get(number_id, ref)
    if row is None:
        raise _not_found(ref)
    return _item(row, scope, container.clock.now_ms())


async def versions(container: Container, *, number_id: str, ref: str) -> TemplateHistory:
    """Every version of a template, newest first (the current one with its live status)."""
    current = await get(container, number_id=number_id, ref=ref)
    rows = await container.repos.templates.versions(current.template.id)
    return TemplateHistory(
        id=current.template.id,
        name=current.template.name,
        versions=tuple(_version_entry(r, current) for r in rows),
    )


# -- writes ----------------------------------------------------------------------------------


async def create(container: Container, *, number_id: str, new: NewTemplate) -> TemplateItem:
    spec = new.spec
    scope = await _scope(container, number_id)
    now = container.clock.now_ms()
    template_id = ids.new_id("tpl")
    status, approve_at = _approval(container, scope, now)
    repo = container.repos.templates
    async with container.db.read() as conn:
        await _check_name_free(container, conn, number_id, new.name, exclude_id=None)
    provider_template_id = await _submit(container, scope, spec)
    async with container.db.write() as conn:
        await repo.lock_number(conn, number_id)
        await _check_name_free(container, conn, number_id, new.name, exclude_id=None)
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


async def update(container: Container, *, number_id: str, ref: str, change: TemplateChange) -> TemplateItem:
    """Full update of the content (omitted header/footer/buttons are removed). A changed content
    or language makes a new version; a rename alone does not; an identical body changes
    nothing (PUT stays idempotent). On Meta numbers a new version goes to review before it is
    stored (outside the write transaction: the review call is slow); if Meta refuses, nothing
    changes here."""
    given = change.spec
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


async def delete(container: Container, *, number_id: str, ref: str) -> str:
    """Soft delete: sends and lookups stop finding it and its name becomes free. A template
    submitted to Meta is deleted there first; if Meta refuses or cannot be reached, the
    template stays (the error says why). Returns the deleted template's id."""
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
    return row.id


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


# -- what reads show ------------------------------------------------------------------------


def _item(row: Template, scope: NumberScope, now: int) -> TemplateItem:
    status = sending.effective_template_status(row, now)
    return TemplateItem(template=row, status=status, needs_approval=scope.needs_approval)


def _version_entry(row: TemplateVersion, current: TemplateItem) -> VersionEntry:
    is_current = row.version == current.template.version
    return VersionEntry(
        version=row, current=is_current, status=current.status if is_current else row.meta_status
    )

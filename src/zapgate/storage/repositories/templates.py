"""Templates: lookups, submission, new versions, edits, soft deletes and review verdicts, as
:class:`Template` records. Methods taking ``conn`` run in the caller's unit of work.

A live template is found by id, else by name (as given or normalised); its name is unique among
the number's live templates only because writers lock the number's row first
(:meth:`TemplateRepository.lock_number`): the schema has no unique index on live names."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain import ids, template_rules
from zapgate.domain.template_rules import TemplateSpec
from zapgate.domain.templates import OwnerNumber, ReviewNumber, Template, TemplateVersion
from zapgate.storage import tables as t
from zapgate.storage.database import Connection, Database

_tpl, _ver, _n = t.templates.c, t.template_versions.c, t.numbers.c


def _template(row: Any) -> Template:
    return Template(
        id=row.id,
        workspace_id=row.workspace_id,
        number_id=row.number_id,
        name=row.name,
        category=row.category,
        language=row.language,
        content=row.content,
        variables=tuple(row.variables),
        version=row.version,
        source=row.source,
        meta_status=row.meta_status,
        provider_template_id=row.provider_template_id,
        approve_at=row.approve_at,
        rejection_reason=row.rejection_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        version_id=getattr(row, "version_id", None),
        version_created_at=getattr(row, "version_created_at", None),
    )


def _version(row: Any) -> TemplateVersion:
    return TemplateVersion(
        id=row.id,
        template_id=row.template_id,
        version=row.version,
        content=row.content,
        variables=tuple(row.variables),
        meta_status=row.meta_status,
        created_at=row.created_at,
    )


def _live_ref(number_id: str, ref: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        _tpl.number_id == number_id,
        _tpl.deleted_at.is_(None),
        sa.or_(_tpl.id == ref, _tpl.name.in_([ref, template_rules.normalize_name(ref) or ref])),
    )


def _id_first(ref: str) -> Any:
    return sa.case((_tpl.id == ref, 0), else_=1)


def _with_latest_version() -> Any:
    """Templates with their current version's id and creation time."""
    joined = t.templates.outerjoin(
        t.template_versions, sa.and_(_ver.template_id == _tpl.id, _ver.version == _tpl.version)
    )
    return sa.select(
        t.templates, _ver.id.label("version_id"), _ver.created_at.label("version_created_at")
    ).select_from(joined)


async def _insert_version(
    conn: Connection, template_id: str, version: int, spec: TemplateSpec, status: str | None, now_ms: int
) -> None:
    await conn.execute(
        sa.insert(t.template_versions).values(
            id=ids.new_id("tplv"),
            template_id=template_id,
            version=version,
            content=spec.content,
            variables=list(spec.variables),
            meta_status=status,
            created_at=now_ms,
        )
    )


class TemplateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- the number -------------------------------------------------------------------------

    async def owner(self, number_id: str) -> OwnerNumber | None:
        """The live number; None when there is none (or it is deleted)."""
        query = sa.select(_n.id, _n.workspace_id, _n.provider, _n.official).where(
            _n.id == number_id, _n.deleted_at.is_(None)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return OwnerNumber(
            id=row.id, workspace_id=row.workspace_id, provider=row.provider, official=bool(row.official)
        )

    async def review_number(self, number_id: str) -> ReviewNumber:
        """The number with its sealed credentials (raises if the row is gone)."""
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(t.numbers).where(_n.id == number_id))).one()
        return ReviewNumber(
            id=row.id,
            number=row.number,
            provider=row.provider,
            official=bool(row.official),
            credentials_enc=row.credentials_enc,
        )

    @staticmethod
    async def lock_number(conn: Connection, number_id: str) -> None:
        """Serialises template writes of one number (FOR UPDATE is a no-op on SQLite, which
        already has a single writer)."""
        await conn.execute(sa.select(_n.id).where(_n.id == number_id).with_for_update())

    # --- reads ------------------------------------------------------------------------------

    async def list_live(self, number_id: str) -> tuple[Template, ...]:
        """The number's live templates with their current version, oldest first."""
        query = _with_latest_version().where(_tpl.number_id == number_id, _tpl.deleted_at.is_(None))
        async with self._db.read() as conn:
            rows = (await conn.execute(query.order_by(_tpl.created_at, _tpl.id))).all()
        return tuple(_template(r) for r in rows)

    async def get(self, number_id: str, ref: str) -> Template | None:
        """A live template by id, else by name, with its current version."""
        query = _with_latest_version().where(_live_ref(number_id, ref)).order_by(_id_first(ref))
        async with self._db.read() as conn:
            row = (await conn.execute(query.limit(1))).first()
        return None if row is None else _template(row)

    async def lookup(self, number_id: str, ref: str) -> Template | None:
        """The accept path's lookup: a live template by id, else by name (no version join)."""
        async with self._db.read() as conn:
            return await self.find(conn, number_id, ref)

    @staticmethod
    async def find(
        conn: Connection, number_id: str, ref: str, *, for_update: bool = False
    ) -> Template | None:
        """A live template by id, else by name (locked when ``for_update``)."""
        query = sa.select(t.templates).where(_live_ref(number_id, ref)).order_by(_id_first(ref)).limit(1)
        if for_update:
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        return None if row is None else _template(row)

    async def versions(self, template_id: str) -> tuple[TemplateVersion, ...]:
        """Every version of a template, newest first."""
        query = sa.select(t.template_versions).where(_ver.template_id == template_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query.order_by(_ver.version.desc()))).all()
        return tuple(_version(r) for r in rows)

    @staticmethod
    async def name_taken(conn: Connection, number_id: str, name: str, *, exclude_id: str | None) -> bool:
        """A live template of the number (other than ``exclude_id``) has this name."""
        query = sa.select(_tpl.id).where(
            _tpl.number_id == number_id, _tpl.name == name, _tpl.deleted_at.is_(None)
        )
        if exclude_id is not None:
            query = query.where(_tpl.id != exclude_id)
        return (await conn.execute(query.limit(1))).first() is not None

    # --- writes -----------------------------------------------------------------------------

    @staticmethod
    async def insert(
        conn: Connection,
        *,
        template_id: str,
        workspace_id: str,
        number_id: str,
        spec: TemplateSpec,
        source: str,
        status: str | None,
        approve_at: int | None,
        provider_template_id: str | None,
        now_ms: int,
    ) -> None:
        """A new template and its version 1 (``spec`` names name, category and language)."""
        await conn.execute(
            sa.insert(t.templates).values(
                id=template_id,
                workspace_id=workspace_id,
                number_id=number_id,
                name=spec.name,
                category=spec.category,
                language=spec.language,
                content=spec.content,
                variables=list(spec.variables),
                version=1,
                source=source,
                meta_status=status,
                approve_at=approve_at,
                provider_template_id=provider_template_id,
                created_at=now_ms,
                updated_at=now_ms,
            )
        )
        await _insert_version(conn, template_id, 1, spec, status, now_ms)

    @staticmethod
    async def add_version(
        conn: Connection,
        template: Template,
        spec: TemplateSpec,
        *,
        status: str | None,
        approve_at: int | None,
        now_ms: int,
    ) -> None:
        """The template's next version becomes current (name, language and content from
        ``spec``; any rejection reason is cleared)."""
        version = template.version + 1
        await conn.execute(
            sa.update(t.templates)
            .where(_tpl.id == template.id)
            .values(
                name=spec.name,
                language=spec.language,
                content=spec.content,
                variables=list(spec.variables),
                version=version,
                meta_status=status,
                approve_at=approve_at,
                rejection_reason=None,
                updated_at=now_ms,
            )
        )
        await _insert_version(conn, template.id, version, spec, status, now_ms)

    @staticmethod
    async def set_provider_template_id(conn: Connection, template_id: str, provider_template_id: str) -> None:
        await conn.execute(
            sa.update(t.templates)
            .where(_tpl.id == template_id)
            .values(provider_template_id=provider_template_id)
        )

    @staticmethod
    async def rename(conn: Connection, template_id: str, name: str, *, now_ms: int) -> None:
        await conn.execute(
            sa.update(t.templates).where(_tpl.id == template_id).values(name=name, updated_at=now_ms)
        )

    @staticmethod
    async def soft_delete(conn: Connection, template_id: str, *, now_ms: int) -> None:
        await conn.execute(
            sa.update(t.templates).where(_tpl.id == template_id).values(deleted_at=now_ms, updated_at=now_ms)
        )

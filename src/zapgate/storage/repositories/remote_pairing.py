"""Remote pairing links: stored by the digest of their token, read back by it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain.remote_pairing import PairingLink
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_l = t.remote_pairing_links.c


def _link(row: Any) -> PairingLink:
    return PairingLink(
        digest=row.digest,
        number_id=row.number_id,
        workspace_id=row.workspace_id,
        redirect_url=row.redirect_url,
        external_ref=row.external_ref,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


class RemotePairingRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, link: PairingLink) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                sa.insert(t.remote_pairing_links).values(
                    digest=link.digest,
                    number_id=link.number_id,
                    workspace_id=link.workspace_id,
                    redirect_url=link.redirect_url,
                    external_ref=link.external_ref,
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                    used_at=link.used_at,
                )
            )

    async def get(self, digest: str) -> PairingLink | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(t.remote_pairing_links).where(_l.digest == digest))).first()
        return _link(row) if row is not None else None

    async def mark_used(self, digest: str, *, now_ms: int) -> None:
        """Once: a link already marked keeps its first time."""
        async with self._db.write() as conn:
            await conn.execute(
                sa.update(t.remote_pairing_links)
                .where(_l.digest == digest, _l.used_at.is_(None))
                .values(used_at=now_ms)
            )

"""Inbound media Zapgate keeps itself (``inbound_media``): written at intake in the inbox's
unit of work, read by ``GET /v1/media/{id}``, removed by the PII sweeps
(``repositories.redaction``) and with the number (foreign key cascade)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain.inbound import KeptMedia
from zapgate.storage import tables as t
from zapgate.storage.database import Connection, Database

_im = t.inbound_media.c


def _kept(row: Any) -> KeptMedia:
    return KeptMedia(
        number_id=row.number_id,
        media_id=row.media_id,
        mime_type=row.mime_type,
        file_name=row.file_name,
        content=row.content,
        link=row.url,
        size=row.size,
    )


class MediaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, number_id: str, media_id: str) -> KeptMedia | None:
        """The number's kept media with this id (another number's never)."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.inbound_media).where(_im.number_id == number_id, _im.media_id == media_id)
                )
            ).first()
        return None if row is None else _kept(row)

    @staticmethod
    async def insert(conn: Connection, media: KeptMedia, *, now_ms: int) -> None:
        """Keep a media, in the caller's unit of work (which stored its message, the first time
        the provider delivered it: a media id comes once per number)."""
        await conn.execute(
            sa.insert(t.inbound_media).values(
                number_id=media.number_id,
                media_id=media.media_id,
                mime_type=media.mime_type,
                file_name=media.file_name,
                content=media.content,
                url=media.link,
                size=media.size,
                created_at=now_ms,
            )
        )

"""Received provider callbacks and inbound messages: the inbox queue, its batches and the rows they write.
Methods taking ``conn`` run in the caller's unit of work."""

from __future__ import annotations

from zapgate.storage.database import Database


class InboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

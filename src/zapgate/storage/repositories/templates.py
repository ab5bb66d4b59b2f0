"""Templates: submission, review verdicts and the accept path's lookup.
Methods taking ``conn`` run in the caller's unit of work."""

from __future__ import annotations

from zapgate.storage.database import Database


class TemplateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

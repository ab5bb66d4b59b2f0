"""``/v1/projects``."""

from __future__ import annotations

from pydantic import MISSING, Field

from zapgate.web.schemas.base import Body


class ProjectCreate(Body):
    name: str = Field(min_length=1, max_length=100)
    description: str | MISSING = Field(MISSING, max_length=500)

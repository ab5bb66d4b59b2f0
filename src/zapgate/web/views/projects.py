"""Projects on the wire: the SDK's ``Project``."""

from __future__ import annotations

from typing import Any

from zapgate.clock import iso
from zapgate.domain.projects import Project


def project(p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "slug": p.slug,
        "description": p.description,
        "createdAt": iso(p.created_at),
    }

"""Projects on the wire: the SDK's ``Project``, and the create body checked into a
:class:`NewProject`."""

from __future__ import annotations

from typing import Any

from zapgate import errors
from zapgate.clock import iso
from zapgate.domain.projects import DESCRIPTION_MAX, NAME_MAX, NewProject, Project


def project(p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "slug": p.slug,
        "description": p.description,
        "createdAt": iso(p.created_at),
    }


def new_project(body: Any) -> NewProject:
    """``{name, description?}``."""
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Request body must be a JSON object")
    name = body.get("name")
    description = body.get("description", "")
    problems = []
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX:
        problems.append({"field": "name", "message": f"required, 1-{NAME_MAX} characters"})
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        problems.append(
            {"field": "description", "message": f"a string of at most {DESCRIPTION_MAX} characters"}
        )
    if problems:
        raise errors.ValidationFailed("Invalid project", details=problems)
    assert isinstance(name, str) and isinstance(description, str)
    return NewProject(name=name.strip(), description=description.strip())

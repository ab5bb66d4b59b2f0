"""Projects: a workspace's named groupings (the SDK's ``Project``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NAME_MAX = 100
DESCRIPTION_MAX = 500
SLUG_MAX = 60


@dataclass(frozen=True)
class Project:
    id: str
    workspace_id: str
    name: str
    slug: str
    description: str
    created_at: int


@dataclass(frozen=True)
class NewProject:
    """A project to create: ``name`` 1-100 characters and ``description`` at most 500, both
    trimmed."""

    name: str
    description: str = ""


def slug_of(name: str) -> str:
    """Lower-case ASCII words joined by hyphens (accents dropped): ``Loja São Paulo`` →
    ``loja-sao-paulo``; ``project`` when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.lower())
    return "-".join(words)[:SLUG_MAX].strip("-") or "project"


def free_slug(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``... the first one not taken."""
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"

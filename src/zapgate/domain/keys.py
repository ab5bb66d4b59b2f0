"""API keys as records (pure). Raw keys exist only in :class:`IssuedKey`, once."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IssuedKey:
    """A new key, with its raw value: shown once, never stored (only its digest is)."""

    id: str
    raw: str = field(repr=False)
    prefix: str = ""
    last4: str = ""
    created_at: int = 0


@dataclass(frozen=True)
class MaskedKey:
    """A live key as it may be shown again: never the raw value."""

    id: str
    name: str
    prefix: str
    last4: str
    created_at: int
    last_used_at: int | None = None
    retention_days: int | None = None


@dataclass(frozen=True)
class NumberKey:
    """A number's live key with what is shown of its number."""

    key: MaskedKey
    number_id: str
    number_name: str
    number: str
    number_state: str


@dataclass(frozen=True)
class LiveKey:
    """A live (unrevoked) key of a live number or of a workspace, as authentication reads it."""

    id: str
    workspace_id: str
    scope: str  # "tenant" | "number"
    number_id: str | None
    digest: str = field(repr=False)

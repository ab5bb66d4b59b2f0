"""Workspaces (tenants) and their plans as records (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

FREE_MONTHLY_LIMIT = 200
PLANS = ("FREE", "PAID")


@dataclass(frozen=True)
class Workspace:
    """A workspace; a limit of None is unlimited."""

    id: str
    name: str
    plan: str
    monthly_message_limit: int | None
    max_numbers: int | None
    created_at: int


@dataclass(frozen=True)
class CreatedTenant:
    """A new workspace with its tenant key and its owner's password, each shown once."""

    tenant_id: str
    tenant_key: str = field(repr=False)
    owner_email: str
    owner_password: str = field(repr=False)

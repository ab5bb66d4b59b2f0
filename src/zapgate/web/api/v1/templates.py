"""Templates API (``/v1/templates``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/templates", tags=["templates"])

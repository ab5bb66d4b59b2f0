"""Dashboard page (being built)."""

from __future__ import annotations

from zapgate.web.dashboard import core

router = core.page_router()

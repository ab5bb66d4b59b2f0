"""``POST /v1/numbers/check``: which phone numbers have WhatsApp."""

from __future__ import annotations

from pydantic import MISSING, Field

from zapgate.web.schemas.base import Body


class NumberCheck(Body):
    numbers: list[str] | MISSING = Field(MISSING, min_length=1, max_length=20)
    number: str | MISSING = MISSING

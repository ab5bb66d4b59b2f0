"""``/v1/api-keys``."""

from __future__ import annotations

from zapgate.web.schemas.base import Body


class KeyRotation(Body):
    whatsapp_number_id: str

"""``POST /v1/numbers/remote-pairing``: a QR-paired number and its public pairing link."""

from __future__ import annotations

from typing import Any

from pydantic import MISSING, AnyUrl, Field

from zapgate.providers.base import ProviderKind
from zapgate.web.schemas.base import Body


class RemotePairingCreate(Body):
    name: str
    number: str = Field(examples=["+5511999999999"])
    provider: str = ProviderKind.EVOLUTION_V2.value
    link_to_api_key: bool = False
    send_via_whats_app: bool = Field(False, alias="sendViaWhatsApp")
    redirect_url: AnyUrl | MISSING = MISSING
    external_ref: str | MISSING = Field(MISSING, max_length=200)
    settings: dict[str, Any] | MISSING = MISSING

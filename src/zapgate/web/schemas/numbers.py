"""``/v1/numbers``: creating a number (QR-paired or a Meta Cloud API one) and changing one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import MISSING, AnyUrl, ConfigDict, Field

from zapgate.providers.base import ProviderKind
from zapgate.web.schemas.base import Body

if TYPE_CHECKING:
    AddedKind: TypeAlias = str
else:  # the kinds added here (Meta numbers bring credentials: POST /v1/numbers/meta)
    AddedKind = Literal[tuple(k.value for k in ProviderKind if k is not ProviderKind.META)]


class NumberWebhook(Body):
    """A webhook endpoint made with the number: it gets the number's ``number.created``."""

    url: AnyUrl = Field(examples=["https://hooks.acme.com/wa"])
    name: str | MISSING = Field(MISSING, description="Defaults to the URL's host name")
    events: Literal["*"] | list[str] | MISSING = Field(
        MISSING, description='"*" or event names; [] by default'
    )


class NumberCreate(Body):
    name: str
    number: str = Field(examples=["+5511999999999"])
    provider: AddedKind = ProviderKind.SANDBOX.value
    official: bool = False
    settings: dict[str, Any] | MISSING = MISSING
    webhook: NumberWebhook | MISSING = MISSING


class MetaNumberCreate(Body):
    name: str
    number: str = Field(examples=["+15550000001"])
    phone_number_id: str
    waba_id: str
    access_token: str = Field(json_schema_extra={"writeOnly": True})
    app_secret: str | MISSING = Field(MISSING, json_schema_extra={"writeOnly": True})
    webhook: NumberWebhook | MISSING = MISSING


class NumberSettings(Body):
    model_config = ConfigDict(extra="forbid")

    history_import_enabled: bool | MISSING = MISSING
    webhook_historical_messages: bool | MISSING = MISSING
    ignore_newsletters: bool | MISSING = MISSING
    mark_read_on_send: bool | MISSING = MISSING
    always_online: bool | MISSING | None = MISSING
    reject_call: bool | MISSING | None = MISSING
    read_messages: bool | MISSING | None = MISSING
    ignore_groups: bool | MISSING | None = MISSING
    ignore_status: bool | MISSING | None = MISSING
    msg_reject_call: str | MISSING | None = Field(MISSING, max_length=1000)


class NumberPatch(Body):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    pace_per_second: float | MISSING | None = Field(MISSING, gt=0, le=1000)
    pii_mode: Literal["RELAY_ONLY", "STORE_X_DAYS", "STORE_INDEFINITE"] | MISSING = MISSING
    pii_retention_days: int | MISSING | None = Field(
        MISSING, ge=1, le=3650, description="Required with STORE_X_DAYS, else set to null"
    )
    settings: NumberSettings | MISSING = MISSING

"""``/v1/webhooks``: registering and changing an endpoint, and what the API shows of one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import MISSING, AnyUrl, ConfigDict, Field, RootModel

from zapgate.web.schemas.base import Answer, Body
from zapgate.webhooks import payloads

if TYPE_CHECKING:
    EventName: TypeAlias = str
else:  # the events a webhook can subscribe to (a Literal of run-time values)
    EventName = Literal[payloads.SUBSCRIBABLE_EVENTS]

_EVENTS = (
    '"*" for every event (including number health events), or a list of event names. Empty or '
    "omitted: nothing is delivered."
)
Events = Literal["*"] | list[EventName]
Name = Annotated[str, Field(max_length=200)]


class WebhookCreate(Body):
    url: AnyUrl = Field(examples=["https://hooks.acme.com/wa"])
    name: Name | MISSING = Field(MISSING, description="Defaults to the URL's host name")
    events: Events | MISSING = Field(MISSING, description=_EVENTS)
    whatsapp_number_id: str | MISSING = Field(
        MISSING, description="With a workspace key, when the x-whatsapp-number-id header is not sent"
    )


class WebhookUpdate(Body):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: Name | MISSING = MISSING
    url: AnyUrl | MISSING = MISSING
    active: bool | MISSING = Field(
        MISSING,
        description="false pauses delivery: no events are queued while paused and deliveries "
        "still waiting are dropped (they stay in the log, redeliverable); true resumes delivery "
        "and clears an automatic disable",
    )
    events: Events | MISSING = Field(MISSING, description="Replaces the whole list (no merge)")


class WebhookApiKey(Answer):
    id: str
    name: str


class Webhook(Answer):
    id: str = Field(examples=["wh_01j2webhook"])
    tenant_id: str
    name: str
    url: AnyUrl
    environment: Literal["LIVE"]
    active: bool
    events: list[str]
    api_keys: list[WebhookApiKey]
    last_triggered: datetime | None
    whatsapp_number_ids: list[str]
    whatsapp_instance_ids: list[str]
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = Field(
        description="Why delivery stopped automatically: GONE (the endpoint answered 410) or "
        "FAILING (every attempt failed for 3 days). Cleared on reactivation."
    )


class WebhookList(RootModel[list[Webhook]]):
    pass


class WebhookWithSecret(Webhook):
    secret: str = Field(
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        description="Signing secret. Shown only in this response: store it now.",
    )


class WebhookRotated(WebhookWithSecret):
    previous_secret_expires_at: datetime = Field(
        description="Until then deliveries also carry a signature made with the previous secret"
    )


class WebhookDeleted(Answer):
    id: str
    deleted: bool


class DeliveryLogItem(Answer):
    id: str
    delivery_id: str
    event_id: str
    event: str
    status: Literal["SUCCESS", "FAILED", "PENDING"]
    status_code: int | None
    payload: dict[str, Any] = Field(description="The delivered body")
    response: str | None = Field(description="First 2 KB of the endpoint's answer")
    duration_ms: int | None
    attempt: int = Field(
        description="1 for the first try; 0 for a delivery dropped before any attempt (its "
        "webhook was deactivated)"
    )
    error: str | None
    created_at: datetime
    next_attempt_at: datetime = Field(description="PENDING items only")


class DeliveryLog(RootModel[list[DeliveryLogItem]]):
    pass


class DeliveryQueued(Answer):
    delivery_id: str
    event_id: str
    event: str
    status: Literal["PENDING"]
    redelivery_of: str

"""``/v1/messages``: the send request and its answer, and the cancel request."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import MISSING, Field

from zapgate.web.schemas.base import Answer, Body


class SendButton(Body):
    type: Literal["reply", "url", "call", "copy", "QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"]
    label: str = Field(min_length=1, max_length=20)
    url: str | MISSING = MISSING
    phone_number: str | MISSING = MISSING
    copy_code: str | MISSING = MISSING


class SendHeader(Body):
    type: Literal["text", "image", "video", "document"] | MISSING = MISSING
    content: str | MISSING = MISSING


class SendRequest(Body):
    """Exactly one mode (templateId | text | media + mediaType | list | carousel | flow) and
    exactly one destination."""

    destination_number: str | MISSING = Field(MISSING, examples=["+5511988887777"])
    group_id: str | MISSING = Field(MISSING, examples=["120363000000000000@g.us"])
    newsletter_id: str | MISSING = Field(MISSING, examples=["120363000000000000@newsletter"])
    template_id: str | MISSING = Field(MISSING, description="Template id or name")
    variables: dict[str, str] | MISSING = MISSING
    text: str | MISSING = Field(MISSING, max_length=4096)
    media: str | MISSING = Field(MISSING, description="http(s) URL or base64 data URI")
    media_type: Literal["image", "video", "document", "audio", "voice", "sticker"] | MISSING = MISSING
    caption: str | MISSING = Field(MISSING, description="Direct media caption (not for audio)")
    buttons: list[SendButton] | MISSING = Field(MISSING, max_length=3)
    header: SendHeader | MISSING = MISSING
    footer: str | MISSING = Field(MISSING, max_length=60)
    list_: dict[str, Any] | MISSING = Field(MISSING, alias="list")
    carousel: dict[str, Any] | MISSING = MISSING
    flow: dict[str, Any] | MISSING = MISSING
    labels: list[str] | MISSING = MISSING
    deliver_at: datetime | MISSING = MISSING
    deliver_until: datetime | MISSING = MISSING
    mark_read: bool | MISSING = MISSING
    marketing_options: dict[str, Any] | MISSING = MISSING


class SendAccepted(Answer):
    id: str
    correlation_id: str
    status: Literal["QUEUED"]
    created_at: str
    origin: str
    source_number: str | None
    flow_token: str


class CancelRequest(Body):
    message_ids: list[str] = Field(min_length=1, max_length=100)

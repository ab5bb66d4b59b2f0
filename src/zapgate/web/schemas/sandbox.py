"""The sandbox's extras: a simulated inbound message, and the typing indicator."""

from __future__ import annotations

from pydantic import MISSING, Field

from zapgate.web.schemas.base import Body


class SimulatedMediaBody(Body):
    base64: str = Field(description="The media's bytes: base64, or a data URI")
    mime_type: str | MISSING = Field(MISSING, examples=["image/jpeg"])
    file_name: str | MISSING = MISSING


class InboundSimulation(Body):
    from_: str = Field(alias="from", examples=["+5511988887777"])
    text: str | MISSING = Field(MISSING, description="Required without media; with media, its caption")
    name: str | MISSING = MISSING
    quoted_message_id: str | MISSING = MISSING
    group_id: str | MISSING = Field(MISSING, examples=["120363025246125486@g.us"])
    group_name: str | MISSING = MISSING
    newsletter_id: str | MISSING = Field(MISSING, examples=["120363144038483540@newsletter"])
    newsletter_name: str | MISSING = MISSING
    media: SimulatedMediaBody | MISSING = MISSING


class TypingRequest(Body):
    destination_number: str
    duration_ms: int | MISSING = MISSING

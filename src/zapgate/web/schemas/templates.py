"""``/v1/templates``: the template a client writes and the template it reads back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import MISSING, AnyUrl, Field, RootModel

from zapgate.web.schemas.base import Answer, Body

Examples = Annotated[
    dict[str, str],
    Field(
        description="A sample value for every variable of header, body and dynamic URL.",
        examples=[{"nome": "Ana"}],
    ),
]


class TemplateHeader(Body):
    """TEXT: text (<= 60 characters, at most one variable, no line breaks). IMAGE (JPG/PNG),
    VIDEO (MP4), DOCUMENT (PDF): url (http/https) or base64 (data URI)."""

    type: Literal["NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT"]
    text: str | MISSING = Field(MISSING, max_length=60)
    url: AnyUrl | MISSING = MISSING
    base64: str | MISSING = Field(MISSING, examples=["data:image/png;base64,iVBORw0KGgo..."])


class TemplateButton(Body):
    """At most 10 buttons: QUICK_REPLY <= 10, URL <= 2 (a dynamic URL ends with one variable),
    PHONE_NUMBER <= 1 (E.164), COPY_CODE <= 1 (example: letters and digits, <= 15)."""

    type: Literal["QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"]
    text: str | MISSING = Field(MISSING, max_length=25)
    url: str | MISSING = Field(MISSING, examples=["https://loja.com/promo/{{link}}"])
    phone_number: str | MISSING = Field(MISSING, alias="phone_number", examples=["+5511999999999"])
    example: str | MISSING = Field(MISSING, max_length=15)


class TemplateBodyText(Body):
    text: str = Field(
        max_length=1024,
        description="Must not start or end with a variable. Variables are named: {{nome}}.",
    )


class TemplateFooter(Body):
    text: str | MISSING = Field(MISSING, max_length=60)


class TemplateContent(Body):
    body: TemplateBodyText
    header: TemplateHeader | MISSING = MISSING
    footer: TemplateFooter | MISSING = MISSING
    buttons: list[TemplateButton] | MISSING = Field(MISSING, max_length=10)


# The fields of a template's content, as created and as replaced.
Name = Annotated[
    str,
    Field(
        examples=["promo_cupom"],
        description="Letters and digits; separators become _, lowercased. Unique among the "
        "number's templates.",
    ),
]
InputCategory = Annotated[
    Literal["MARKETING", "UTILITY", "OTP", "AUTHENTICATION"],
    Field(description="AUTHENTICATION is stored as OTP. Cannot change later."),
]
Language = Annotated[str, Field(examples=["pt_BR"])]
Content = Annotated[
    str | TemplateContent,
    Field(description="Plain text, the structured object (recommended), or that object as a JSON string."),
]
Footer = Annotated[str, Field(max_length=60)] | dict[str, Any]
Buttons = Annotated[list[TemplateButton], Field(max_length=10)]


class TemplateCreate(Body):
    name: Name
    category: InputCategory
    language: Language
    body: Content
    header: TemplateHeader | MISSING = MISSING
    footer: Footer | MISSING = MISSING
    buttons: Buttons | MISSING = MISSING
    examples: Examples | MISSING = MISSING


class TemplateUpdate(Body):
    """Replaces the content (omitted header, footer and buttons are removed). name and language
    default to the current values; category, when given, must equal the current one."""

    name: Name | MISSING = MISSING
    category: InputCategory | MISSING = MISSING
    language: Language | MISSING = MISSING
    body: Content
    header: TemplateHeader | MISSING = MISSING
    footer: Footer | MISSING = MISSING
    buttons: Buttons | MISSING = MISSING
    examples: Examples | MISSING = MISSING


class TemplateVersion(Answer):
    id: str
    version: int
    meta_status: str | None
    created_at: datetime
    approve_at: datetime | None


class TemplateVersionEntry(Answer):
    id: str
    version: int
    current: bool
    meta_status: str | None
    body: TemplateContent
    variables: list[str]
    examples: Examples
    created_at: datetime


class TemplateVersions(Answer):
    id: str
    name: str
    versions: list[TemplateVersionEntry]


class Template(Answer):
    id: str = Field(examples=["tpl_01j2..."])
    name: str
    category: Literal["MARKETING", "UTILITY", "OTP"]
    language: str
    body: TemplateContent
    variables: list[str]
    examples: Examples
    source: Literal["PILOT_STATUS", "META"]
    meta_status: Literal["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"] | None = Field(
        description="null on numbers without template approval"
    )
    meta_language: str | None
    sendable: bool
    rejection_reason: str | None
    latest_version: TemplateVersion | None
    version: int
    created_at: datetime
    updated_at: datetime


class TemplateList(RootModel[list[Template]]):
    pass


class TemplateDeleted(Answer):
    ok: bool
    id: str

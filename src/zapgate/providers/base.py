"""The provider seam: our own types in and out, foreign errors translated at each adapter's edge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ProviderKind(StrEnum):
    """A provider kind is code (an adapter); a number row is a configured instance of one. The
    values are what ``numbers.provider`` stores and the API shows."""

    SANDBOX = "sandbox"
    META = "meta"
    EVOLUTION_V2 = "evolution-v2"
    EVOLUTION_GO = "evolution-go"


class CallbackScope(StrEnum):
    """How a provider's callbacks reach Zapgate."""

    NONE = "none"  # the provider never calls back (the sandbox simulates in-process)
    APP = "app"  # one URL for every number of the kind; the body names its numbers (Meta)
    NUMBER = "number"  # one URL per number: ``/webhooks/<path>/<number id>`` (Evolution)


class Registration(StrEnum):
    """How a number of the kind is added."""

    CREATE = "create"  # ``POST /v1/numbers``: Zapgate creates it (an instance for QR kinds)
    CREDENTIALS = "credentials"  # ``POST /v1/numbers/meta``: the customer brings credentials


@dataclass(frozen=True)
class Features:
    """What a provider kind can do: services ask these instead of branching on the kind's name."""

    label: str  # for people (the dashboard's provider choice)
    registration: Registration
    # Numbers are linked to a phone by QR code / pairing code (the adapter is a Provisioner).
    pairing: bool = False
    # Templates are submitted to the provider for review (the adapter is a TemplateSubmitter).
    template_submission: bool = False
    # Zapgate simulates the recipient and the provider: inbound can be simulated, templates
    # approve themselves after a delay, a reply may quote any id.
    simulated: bool = False
    # A Cloud API number: its provider reference is Meta's ``phone_number_id`` (unique among
    # live numbers, shown as ``meta`` in number reads and ``phoneNumberId`` in webhooks).
    cloud_api: bool = False
    groups: bool = False  # groups and newsletters can be listed
    number_check: bool = False  # the provider can tell whether a phone has WhatsApp
    callback_scope: CallbackScope = CallbackScope.NONE
    # The URL segment of the kind's callbacks under ``/webhooks/`` (kept as first published).
    callback_path: str = ""
    # The provider named in a conversation history row's ``media`` (the SDK's ``ChatMessageMedia``:
    # ``META``, ``EVO``, ``EVO_GO``; ``SANDBOX`` for simulated media).
    media_source: str = ""


@dataclass(frozen=True)
class Capabilities:
    base64_media: bool
    groups: bool
    newsletters: bool
    templates_need_approval: bool
    enforces_24h_window: bool
    mark_read_on_send: bool
    default_pace_per_second: float
    max_in_flight: int
    # Sends kept in flight per number: at least the pace times this many seconds (so that a
    # number at 80 or 1,000 msg/s is not held back by the provider's round trip), and at least
    # ``max_in_flight``. 0: ``max_in_flight`` only.
    in_flight_seconds: float = 0.0
    # Relative jitter of the gap between two sends: 0.5 at 0.5 msg/s gives gaps of 1-3 s.
    pace_jitter: float = 0.0
    # Send modes the provider can carry (checked at accept time).
    modes: frozenset[str] = frozenset({"template", "text", "media", "list", "carousel", "flow"})


@dataclass(frozen=True)
class NumberRef:
    id: str
    number: str  # bare digits
    provider: str
    official: bool
    credentials: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    number: NumberRef
    destination: str
    destination_kind: str  # phone | group | newsletter
    mode: str
    payload: dict[str, Any]
    attempt: int
    mark_read: bool
    # The provider id of the contact's last inbound message, when there is one to mark read
    # (Meta: read receipt + typing indicator before the send).
    mark_read_message_id: str | None = None


@dataclass(frozen=True)
class ScheduledReceipt:
    """A status the provider will report later (the sandbox's simulated recipient)."""

    status: str  # DELIVERED | READ | FAILED
    after_seconds: float
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    receipts: tuple[ScheduledReceipt, ...] = ()
    # The provider took the read receipt for the contact's last inbound message
    # (``OutboundMessage.mark_read_message_id``): the conversation is read up to there.
    marked_read: bool = False


@dataclass(frozen=True)
class CallbackNumber:
    """A live number as callback authentication needs it (credentials decrypted)."""

    id: str
    route: str | None  # the provider's reference (Meta phone_number_id, Evolution instance)
    credentials: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class CallbackRequest:
    """An HTTP request to a provider callback URL, as the adapter needs to see it."""

    raw: bytes
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]


@dataclass(frozen=True)
class AcceptedCallback:
    """An authentic callback: the parsed body to store and, for app-wide callbacks, the numbers
    its events may touch: ``{"phones": {route: number id}, "wabas": {account: [number ids]}}``."""

    body: Any
    routes: dict[str, Any] | None = None


class Provider(Protocol):
    kind: ProviderKind
    features: Features

    def capabilities(self, *, official: bool) -> Capabilities: ...

    async def send(self, message: OutboundMessage) -> SendResult: ...

    def parse_callback(self, body: Any) -> list[ProviderEvent]:
        """Translate one stored callback body (already authenticated) into our events.
        Unknown or irrelevant events yield an empty list; never raises on odd input."""
        ...

    def callback_keys(self, numbers: Sequence[CallbackNumber]) -> object:
        """What :meth:`accept_callback` checks against, prepared once for these numbers (all
        live numbers of the kind for ``CallbackScope.APP``, the one number the URL names for
        ``NUMBER``) and kept briefly by the caller."""
        ...

    def accept_callback(self, request: CallbackRequest, keys: object) -> AcceptedCallback:
        """The callback when ``keys`` authenticate it. Raises ``errors.Unauthorized``
        (``INVALID_SIGNATURE``) when they do not, ``errors.ValidationFailed`` for an authentic
        body that is not JSON."""
        ...

    def callback_handshake(self, query: Mapping[str, str]) -> str:
        """The answer to the provider's GET subscription check (Meta's ``hub.challenge``);
        raises ``errors.Forbidden`` when the check fails or the kind has none."""
        ...

    async def aclose(self) -> None: ...


# -- callbacks, normalised -------------------------------------------------------------------
# Every adapter turns its provider's callback bodies into these. The web layer stores the raw
# body; the inbox parses it with the adapter and applies the resulting events.


@dataclass(frozen=True)
class StatusUpdate:
    """A receipt for one of our outbound messages."""

    provider_message_id: str
    status: str  # SENT | DELIVERED | READ | FAILED
    at_ms: int | None = None
    code: str | None = None  # our errorCode (decisions.md) when FAILED
    detail: str | None = None  # human text; includes the provider's own code
    retryable: bool = False  # FAILED with a transient provider code: may be re-queued
    retry_after: float | None = None
    pricing: dict[str, Any] | None = None  # Meta ``pricing`` (+ ``conversation``) -> metaPricing
    our_message_id: str | None = None  # Meta echoes it in ``biz_opaque_callback_data``
    route: str | None = None  # provider routing key (Meta phone_number_id)


@dataclass(frozen=True)
class InboundMedia:
    id: str | None = None
    url: str | None = None
    mime_type: str | None = None
    file_name: str | None = None
    caption: str | None = None
    base64: str | None = None  # raw base64 as the provider sent it (Evolution)


@dataclass(frozen=True)
class InboundMessage:
    """A message a contact sent to one of our numbers."""

    provider_message_id: str
    sender: str  # E.164 with '+' when a phone is known, else the provider id (…@lid)
    # text | image | audio | video | document | sticker | location | contacts | reaction | button
    # | interactive | unsupported
    message_type: str
    text: str | None = None  # text body, caption, or the chosen button/row title
    sender_name: str | None = None
    at_ms: int | None = None
    chat_kind: str = "phone"  # phone | group | newsletter
    chat_id: str | None = None  # group / newsletter JID
    chat_name: str | None = None
    quoted_provider_id: str | None = None  # the provider id of the message it replies to
    reply_id: str | None = None  # the button id / list row id chosen
    reaction_to: str | None = None  # provider id of the message reacted to
    media: InboundMedia | None = None
    sender_lid: str | None = None
    route: str | None = None  # provider routing key (Meta phone_number_id)


@dataclass(frozen=True)
class ConnectionUpdate:
    """The number's link to WhatsApp changed (Evolution instances)."""

    state: str  # OPEN | CONNECTING | CLOSE
    reason: str | None = None
    health: str | None = None  # e.g. LOGGED_OUT, BANNED, LICENSE_REQUIRED; None = OK
    profile_name: str | None = None
    own_jid: str | None = None
    qrcode_base64: str | None = None
    pairing_code: str | None = None
    route: str | None = None


@dataclass(frozen=True)
class TemplateUpdate:
    """Meta moved one of the account's templates (``message_template_status_update``)."""

    name: str
    status: str  # APPROVED | REJECTED | PAUSED | DISABLED | PENDING | ...
    provider_template_id: str | None = None
    language: str | None = None
    reason: str | None = None
    route: str | None = None  # the WABA id


ProviderEvent = StatusUpdate | InboundMessage | ConnectionUpdate | TemplateUpdate


@dataclass(frozen=True)
class Pairing:
    """What a person needs to link a QR-paired number."""

    state: str  # OPEN | CONNECTING | CLOSE
    qrcode_base64: str | None = None  # data:image/png;base64,...
    pairing_code: str | None = None


@dataclass(frozen=True)
class LinkStatus:
    state: str  # OPEN | CONNECTING | CLOSE
    health: str | None = None
    profile_name: str | None = None


@dataclass(frozen=True)
class Provisioned:
    """An instance created at the provider for a new number; ``credentials`` are stored
    encrypted on the number and come back as ``NumberRef.credentials``."""

    credentials: dict[str, Any]
    pairing: Pairing


@dataclass(frozen=True)
class TemplateSubmission:
    provider_template_id: str
    status: str  # usually PENDING


@dataclass(frozen=True)
class NumberProfile:
    """What the provider says about an official number (credentials check)."""

    display_phone_number: str | None
    verified_name: str | None
    quality_rating: str | None


class Provisioner(Protocol):
    """Evolution v2 / GO: an instance per number, paired by QR code or pairing code."""

    async def provision(self, ref: NumberRef, *, callback_url: str, callback_secret: str) -> Provisioned: ...

    async def connect(self, ref: NumberRef) -> Pairing: ...

    async def link_status(self, ref: NumberRef) -> LinkStatus: ...

    async def deprovision(self, ref: NumberRef) -> None: ...


class TemplateSubmitter(Protocol):
    """Meta: templates are submitted for approval to the WhatsApp Business Account."""

    async def submit_template(self, ref: NumberRef, template: dict[str, Any]) -> TemplateSubmission: ...

    async def edit_template(
        self, ref: NumberRef, provider_template_id: str, template: dict[str, Any]
    ) -> None:
        """New content for a submitted template (same id, reviewed again); raises
        ``errors.Conflict`` ``TEMPLATE_NOT_EDITABLE`` when its state forbids editing."""
        ...

    async def delete_template(self, ref: NumberRef, name: str, provider_template_id: str) -> None:
        """Delete a submitted template; one the provider no longer knows counts as deleted."""
        ...

    async def describe_number(self, ref: NumberRef) -> NumberProfile: ...


# -- directory and media (optional roles) ---------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A group the number belongs to."""

    id: str  # the group's JID (…@g.us)
    subject: str
    size: int | None = None  # participants, when the provider says


@dataclass(frozen=True)
class Newsletter:
    """A WhatsApp channel the number follows."""

    id: str  # the channel's JID (…@newsletter)
    name: str


@dataclass(frozen=True)
class NumberCheck:
    """Whether a phone number has WhatsApp. ``number`` is the number as asked (E.164 with
    ``+``); ``jid`` is WhatsApp's own address for it when it exists, which for a Brazilian mobile
    may lack the 9th digit the caller wrote (or have one the caller left out)."""

    number: str
    exists: bool
    jid: str | None = None
    name: str | None = None  # the profile name, when the provider knows it


@dataclass(frozen=True)
class DownloadedMedia:
    content: bytes = field(repr=False)
    mime_type: str
    file_name: str | None = None


class Directory(Protocol):
    """Evolution v2 / GO (and the sandbox): the number's groups and channels, and WhatsApp
    lookups of phone numbers, asked of the provider."""

    async def list_groups(self, ref: NumberRef) -> tuple[Group, ...]: ...

    async def list_newsletters(self, ref: NumberRef) -> tuple[Newsletter, ...]:
        """Raises ``errors.NotSupported`` when the provider cannot list channels."""
        ...

    async def check_numbers(self, ref: NumberRef, numbers: Sequence[str]) -> tuple[NumberCheck, ...]:
        """One result per number asked, in order (``numbers`` are E.164 with ``+``)."""
        ...


class MediaSource(Protocol):
    """Media of inbound messages, fetched from the provider on demand."""

    async def download_media(self, ref: NumberRef, media_id: str, *, max_bytes: int) -> DownloadedMedia:
        """The media ``media_id`` names (the ``mediaId`` of an inbound message's webhook).
        Raises ``errors.NotFound`` (``MEDIA_NOT_FOUND``: unknown, or expired at the provider)
        and ``errors.PayloadTooLarge`` (``MEDIA_TOO_LARGE``) past ``max_bytes``; reads no more
        than ``max_bytes`` + 1 bytes of it."""
        ...

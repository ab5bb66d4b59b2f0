"""Remote pairing links (pure): a time-limited, unguessable link that lets someone else pair a
QR-paired number from a public page. Only the token's SHA-256 digest is stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from zapgate.domain.numbers import CreatedNumber, Number

TOKEN_PREFIX = "rp_"  # noqa: S105 (a prefix, not a secret)
MAX_EXTERNAL_REF = 200


class LinkState(StrEnum):
    VALID = "VALID"
    EXPIRED = "EXPIRED"
    USED = "USED"


@dataclass(frozen=True)
class PairingLink:
    """A stored link; ``used_at`` is set once its number was seen connected."""

    digest: str
    number_id: str
    workspace_id: str
    redirect_url: str | None
    external_ref: str | None
    created_at: int
    expires_at: int
    used_at: int | None = None

    def state(self, now_ms: int) -> LinkState:
        """A used link stays used after it expires (the page still says "connected")."""
        if self.used_at is not None:
            return LinkState.USED
        return LinkState.EXPIRED if now_ms >= self.expires_at else LinkState.VALID


@dataclass(frozen=True)
class CreatedPairing:
    """A new number with its pairing link; ``token`` is shown this once."""

    created: CreatedNumber
    link: PairingLink
    token: str
    link_to_api_key: bool
    message_error: str | None


@dataclass(frozen=True)
class PairingView:
    """What the public page and its helpers show: the link, its state, its number."""

    link: PairingLink
    state: LinkState
    number: Number


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def plausible_token(token: str) -> bool:
    """Worth a lookup: printable ASCII with the prefix, of a sane length (never NUL)."""
    return (
        token.startswith(TOKEN_PREFIX) and 8 <= len(token) <= 100 and token.isascii() and token.isprintable()
    )


def mask_number(digits: str) -> str:
    """``+55*******4321``: the country code and the last four digits."""
    if len(digits) <= 6:
        return "+" + "*" * len(digits)
    return "+" + digits[:2] + "*" * (len(digits) - 6) + digits[-4:]


def redirect_target(redirect_url: str, external_ref: str | None) -> str:
    """The redirect URL with ``externalRef`` added to its query, when there is one."""
    if not external_ref:
        return redirect_url
    parts = urlsplit(redirect_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("externalRef", external_ref)]
    return urlunsplit(parts._replace(query=urlencode(query)))

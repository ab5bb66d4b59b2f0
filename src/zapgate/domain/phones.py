"""Destination formats: E.164 phones, group and newsletter JIDs."""

from __future__ import annotations

import re

_E164 = re.compile(r"^\+?[1-9]\d{7,14}$")
_BSUID = re.compile(r"^[A-Z]{2}\.\d{6,30}$")
_GROUP = re.compile(r"^[0-9A-Za-z\-]{5,64}@g\.us$")
_NEWSLETTER = re.compile(r"^\d{5,40}@newsletter$")


def normalize_e164(value: str) -> str | None:
    """``+5511988887777``, ``5511988887777`` or ``+55 (11) 98888-7777`` -> ``+5511988887777``."""
    compact = re.sub(r"[\s().\-]", "", value)
    if not _E164.match(compact):
        return None
    return compact if compact.startswith("+") else "+" + compact


def is_bsuid(value: str) -> bool:
    return bool(_BSUID.match(value))


def is_group_jid(value: str) -> bool:
    return bool(_GROUP.match(value))


def is_newsletter_jid(value: str) -> bool:
    return bool(_NEWSLETTER.match(value))


def bare_digits(e164: str) -> str:
    return e164.lstrip("+")

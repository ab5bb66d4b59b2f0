"""Destination formats: E.164 phones, BSUIDs, group and newsletter JIDs.

Digits are spelled ``[0-9]`` on purpose: ``re``'s ``\\d`` matches every Unicode decimal digit
(Arabic-Indic U+0660-0669, Devanagari U+0966-096F, Thai U+0E50-0E59, fullwidth U+FF10-FF19...),
which would let such strings pass as ids and be stored and sent as they are.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

# Punctuation people write around a number; removed before the digits are checked.
_SEPARATORS = re.compile(r"[\s().\-]")
# What may remain: an optional +, then the country code's first digit (never 0), then at most
# 14 more ASCII digits (E.164 numbers have at most 15 digits).
_DIGITS = re.compile(r"\+?[1-9][0-9]{1,14}")
_BSUID = re.compile(r"[A-Z]{2}\.[0-9]{6,30}")
_GROUP = re.compile(r"[0-9A-Za-z\-]{5,64}@g\.us")
_NEWSLETTER = re.compile(r"[0-9]{5,40}@newsletter")


# Pure, and ``phonenumbers`` is most of the CPU of reading a send request: recipients recur
# (notifications, retries, the same contact's conversation), so results are kept, bounded.
@functools.lru_cache(maxsize=65_536)
def normalize_e164(value: str) -> str | None:
    """``+5511988887777``, ``5511988887777`` or ``+55 (11) 98888-7777`` -> ``+5511988887777``;
    None when the value is not a possible phone number.

    Only ASCII digits are accepted: the other Unicode digits are refused, not translated, so
    what a client sends and what is stored and sent to the provider stay the same string. The
    digits are then read by ``phonenumbers`` as an international number and must pass
    ``is_possible_number``: a known country code and a length that country's numbering plan
    allows. ``is_valid_number`` (the number lies in an assigned range) is deliberately not
    used: its metadata lags behind the carriers, so newly assigned ranges would be refused, and
    test and documentation numbers (``+1 555…``, the sandbox's magic destinations) are not
    "valid". The result is ``phonenumbers``' E.164 form, so a national trunk prefix written
    after the country code is dropped (``+44 (0) 20 7123 4567`` -> ``+442071234567``).
    """
    compact = _SEPARATORS.sub("", value)
    if not _DIGITS.fullmatch(compact):
        return None
    try:
        parsed = phonenumbers.parse("+" + compact.removeprefix("+"), None)
    except phonenumbers.NumberParseException:
        return None  # e.g. an unassigned country code such as +999
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_bsuid(value: str) -> bool:
    return _BSUID.fullmatch(value) is not None


def is_group_jid(value: str) -> bool:
    return _GROUP.fullmatch(value) is not None


def is_newsletter_jid(value: str) -> bool:
    return _NEWSLETTER.fullmatch(value) is not None


def bare_digits(e164: str) -> str:
    return e164.lstrip("+")

"""Destination formats: E.164 phones, BSUIDs, group and newsletter JIDs.

Digits are spelled ``[0-9]`` on purpose: ``re``'s ``\\d`` matches every Unicode decimal digit
(Arabic-Indic U+0660-0669, Devanagari U+0966-096F, Thai U+0E50-0E59, fullwidth U+FF10-FF19...),
which would let such strings pass as ids and be stored and sent as they are.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, region_code_for_country_code
from phonenumbers.phonemetadata import PhoneMetadata

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
    digits = compact.removeprefix("+")
    known, answer = _plain_e164(digits)
    return answer if known else _by_phonenumbers(digits)


def _by_phonenumbers(digits: str) -> str | None:
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None  # e.g. an unassigned country code such as +999
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_ASK_PHONENUMBERS: tuple[bool, str | None] = (False, None)


def _plain_e164(digits: str) -> tuple[bool, str | None]:
    """What :func:`_by_phonenumbers` answers for ``digits``, taken from ``phonenumbers``'
        metadata in a few lookups (a tenth of its cost), for the usual case: a known country code
        followed by a national number that cannot start with a national prefix (nothing to strip,
        no leading zero): ``(True, answer)``. Anything else is left to ``phonenumbers`` itself
    (``_ASK_PHONENUMBERS``);
        ``tests/unit/test_phones.py`` checks that both give the same answers.

        ``phonenumbers.parse`` of ``+<digits>`` takes the shortest prefix that is a country code,
        strips a national prefix when the region's pattern matches, and ``is_possible_number`` then
        asks whether the national number's length is one the region's numbering plan allows."""
    for size in range(1, min(len(digits), 3) + 1):
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return True, None  # no country code: phonenumbers refuses it (INVALID_COUNTRY_CODE)
    national = digits[size:]
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return _ASK_PHONENUMBERS  # too short or long for a number, or an Italian leading zero
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, region_code_for_country_code(country_code)
    )
    if metadata is None:
        return _ASK_PHONENUMBERS
    prefix = metadata.national_prefix_for_parsing
    if prefix and _pattern(prefix).match(national):
        return _ASK_PHONENUMBERS  # a national prefix might be stripped
    general = metadata.general_desc
    lengths = general.possible_length if general is not None else None
    if general is None or not lengths or lengths[0] == -1:
        return _ASK_PHONENUMBERS
    if len(national) in lengths or len(national) in (general.possible_length_local_only or ()):
        return True, "+" + digits
    return True, None


@functools.lru_cache(maxsize=512)
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def is_bsuid(value: str) -> bool:
    return _BSUID.fullmatch(value) is not None


def is_group_jid(value: str) -> bool:
    return _GROUP.fullmatch(value) is not None


def is_newsletter_jid(value: str) -> bool:
    return _NEWSLETTER.fullmatch(value) is not None


def bare_digits(e164: str) -> str:
    return e164.lstrip("+")

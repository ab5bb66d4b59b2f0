"""The quick E.164 check gives exactly ``phonenumbers``' answer wherever it answers itself."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from zapgate.domain import phones

COUNTRY_CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)


def _agrees(digits: str) -> bool:
    known, answer = phones._plain_e164(digits)
    return not known or answer == phones._by_phonenumbers(digits)


def test_every_country_code_with_national_numbers_of_every_length() -> None:
    rng = random.Random(20261205)
    checked = quick = 0
    for code in COUNTRY_CODES:
        for length in range(0, 16 - len(str(code))):
            for _ in range(12):
                national = "".join(rng.choice("0123456789") for _ in range(length))
                digits = f"{code}{national}"
                assert _agrees(digits), digits
                checked += 1
                quick += phones._plain_e164(digits)[0]
    # The quick path is the usual one, not a corner: most of these it answers itself.
    assert quick > checked / 2, (quick, checked)


def test_usual_numbers_take_the_quick_path() -> None:
    for digits, expected in [
        ("5511988887777", "+5511988887777"),  # Brazil, mobile with the 9th digit
        ("14155550123", "+14155550123"),  # NANP
        ("447911123456", "+447911123456"),  # United Kingdom, mobile
        ("4915123456789", "+4915123456789"),  # Germany
        ("99912345", None),  # no such country code
        ("551198888", None),  # Brazil, too short
    ]:
        assert phones._plain_e164(digits) == (True, expected), digits
        assert phones._by_phonenumbers(digits) == expected, digits


def test_prefixes_and_leading_zeros_are_left_to_phonenumbers() -> None:
    assert phones._plain_e164("4402071234567") == phones._ASK_PHONENUMBERS  # +44 (0) 20 …
    assert phones.normalize_e164("+44 (0) 20 7123 4567") == "+442071234567"
    assert phones._plain_e164("390612345678") == phones._ASK_PHONENUMBERS  # Italy's leading 0
    assert phones.normalize_e164("+39 06 1234 5678") == phones._by_phonenumbers("390612345678")


@settings(max_examples=400, deadline=None)
@given(st.from_regex(r"[1-9][0-9]{1,14}", fullmatch=True))
def test_any_digits(digits: str) -> None:
    assert _agrees(digits)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(COUNTRY_CODES), st.from_regex(r"[0-9]{0,13}", fullmatch=True))
def test_any_national_number_after_a_country_code(code: int, national: str) -> None:
    digits = f"{code}{national}"[:15]
    assert _agrees(digits)

"""Hypothesis strategies for hostile JSON: wrong types at any depth, numbers at the 32/53/64-bit
edges, digits that are not ASCII, dates past what datetime holds, broken URLs and phones, and
valid bodies mutated at any location (for ``tests/integration/test_api_properties.py``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

JSON = Any


# Integers around the 32/53/64-bit edges (orjson turns those past 64 bits into floats).
EDGE_INTS = [
    0,
    -1,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    -(2**63),
    -(2**63) - 1,
    10**20,
    -(10**20),
]
EDGE_FLOATS = [0.5, -0.0, 1e308, -1e308, 5e-324, 1e16]
# Date-times at and past the edges of what datetime can hold once moved to UTC.
ODD_DATES = [
    "9999-12-31T23:59:59.999-23:59",
    "9999-12-31T23:59:59Z",
    "9999-12-31",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-06-01T24:00:00Z",
    "10000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "2026-06-01T12:00:00+99:00",
    "2026-06-01T12:00:00.Z",
    "20260601T120000Z",
]
# URLs that urlsplit refuses, that name this machine or the cloud metadata service, or that
# are not http(s) at all.
ODD_URLS = [
    "http://[::1",
    "https://[zz/x",
    "http://[v1.x]/",
    "http://a.example:99999/x",
    "http://a.example:0/",
    "http://",
    "https://",
    "//a.example/x",
    "a.example/x",
    "ftp://a.example/x",
    "javascript:alert(1)",
    "data:text/html,<b>x</b>",
    "http://exa mple.com/",
    "http://a.example/\x00",
    "http://例え.テスト/",
    "http://127.0.0.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "https://a.example/{{",
    "https://a.example/{{x}}{{y}}",
    "http://%zz/",
    "http://a.example\\@b.example/",
    "https://a.example/" + "x" * 3000,
]
ODD_PHONES = [
    "+",
    "+0",
    "+1",
    "+5511988887777\n",
    "+55 (11) 98888-7777",
    "5511988887777@s.whatsapp.net",
    "+1234567890123456789",
    "00 55 11 98888 7777",
    "+55\u00a011988887777",
    "+5511988887777\u200b",
    "\uff0b5511988887777",
]
ODD_STRINGS = [
    "",
    " ",
    "\n",
    "\x00",
    "null",
    "true",
    "[]",
    "{}",
    "*",
    "{{nome}}",
    "{{",
    "}}",
    "ps_" + "A" * 40,
    "\u202eevil",
    "🙂" * 30,
    "120363012345678901@g.us\n",
    "NaN",
    "Infinity",
    "-0",
    "1e999",
    "../../etc/passwd",
    "%00",
    "\\u0000",
    "\ud7ff\ue000\uffff",
    "a\u0301" * 50,
]


def non_ascii_digits(min_size: int = 1, max_size: int = 15) -> st.SearchStrategy[str]:
    """Digits that are not 0-9: Arabic-Indic, Devanagari, fullwidth... (``\\d`` matches them)."""
    digit = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())
    return st.text(digit, min_size=min_size, max_size=max_size)


def phone_with_non_ascii_digits() -> st.SearchStrategy[str]:
    """An E.164-looking number with a non-ASCII digit, e.g. ``+55\\u0661\\u0661988887777``."""
    ascii_digits = st.text("0123456789", max_size=6)
    parts = st.tuples(
        st.sampled_from(["+", ""]),
        st.sampled_from("123456789"),
        ascii_digits,
        non_ascii_digits(1, 6),
        ascii_digits,
    )
    return parts.map("".join).filter(lambda s: 8 <= len(s.lstrip("+")) <= 15)


def hostile_strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=20),
        st.sampled_from(ODD_STRINGS + ODD_DATES + ODD_URLS + ODD_PHONES),
        phone_with_non_ascii_digits(),
        non_ascii_digits(),
        st.text(min_size=1, max_size=2).map(lambda s: s * 3000),
    )


def hostile_scalars() -> st.SearchStrategy[JSON]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(EDGE_INTS),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(EDGE_FLOATS),
        hostile_strings(),
    )


def json_values(max_leaves: int = 8) -> st.SearchStrategy[JSON]:
    """Any JSON value, hostile leaves included (empty objects and lists too)."""
    keys = st.one_of(st.text(max_size=8), st.sampled_from(["type", "text", "url", "body", "id"]))
    return st.recursive(
        hostile_scalars(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=max_leaves,
    )


_PHONE = re.compile(r"\+?\d[\d ()-]{6,}")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _related(original: JSON) -> st.SearchStrategy[JSON]:
    """Values that get close to what a field holds: broken URLs for a URL, odd phones for a
    phone, odd dates for a date, the same text padded, stretched or cut; edge numbers."""
    if isinstance(original, bool):
        return st.sampled_from(["true", 1, 0, "false"])
    if isinstance(original, int | float):
        return st.sampled_from([*EDGE_INTS, *EDGE_FLOATS, str(original)])
    if not isinstance(original, str):
        return st.sampled_from([None, {}, []])
    family: st.SearchStrategy[str] = st.sampled_from(
        [
            original + "\n",
            " " + original,
            original * 400,
            original + "\x00",
            original.upper(),
            original[:1],
            original + "\u0301",
            "",
        ]
    )
    if original.startswith(("http://", "https://")):
        scheme, _, rest = original.partition("://")
        family |= st.sampled_from(
            [
                f"{scheme}://[{rest}",
                f"{scheme}://{rest}]",
                f"{scheme}://{rest.replace('/', ':99999/', 1)}",
                f"{scheme}:/{rest}",
                f"{scheme}://@{rest}",
                *ODD_URLS,
            ]
        )
    elif _PHONE.fullmatch(original):
        family |= st.sampled_from(ODD_PHONES) | phone_with_non_ascii_digits()
    elif _DATE.match(original):
        family |= st.sampled_from(ODD_DATES)
    return family


def hostile_like(original: JSON) -> st.SearchStrategy[JSON]:
    """A replacement for ``original``: a near miss of its own kind (half the time), or any
    hostile scalar, an empty object or list, or any JSON value."""
    anything = st.one_of(hostile_scalars(), st.just({}), st.just([]), json_values())
    return st.one_of(_related(original), anything)


def locations(value: JSON, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every location inside a JSON value (the root excluded), parents before children."""
    children: Iterator[tuple[Any, JSON]]
    if isinstance(value, dict):
        children = iter(value.items())
    elif isinstance(value, list):
        children = iter(enumerate(value))
    else:
        return
    for key, child in children:
        yield (*prefix, key)
        yield from locations(child, (*prefix, key))


def value_at(value: JSON, path: tuple[Any, ...]) -> JSON:
    for key in path:
        value = value[key]
    return value


def replace_at(value: JSON, path: tuple[Any, ...], new: JSON) -> None:
    value_at(value, path[:-1])[path[-1]] = new


def _delete(value: JSON, path: tuple[Any, ...]) -> None:
    parent = value_at(value, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


@st.composite
def mutations_of(draw: st.DrawFn, base: dict[str, Any]) -> JSON:
    """A valid body with one to three locations (at any depth) replaced by a hostile value or
    removed, sometimes with an unknown key added; or, now and then, any JSON value at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values())
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(locations(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        if draw(st.integers(0, 5)) == 0:
            _delete(body, path)
        else:
            replace_at(body, path, draw(hostile_like(value_at(body, path))))
    if draw(st.integers(0, 7)) == 0:
        body[draw(st.text(min_size=1, max_size=8))] = draw(json_values())
    return body

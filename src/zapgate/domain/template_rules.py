"""Validating a template create/update body and normalising it (pure; no I/O).

Input (``POST /v1/templates``, ``PUT /v1/templates/{ref}``)::

    {"name": "Promo Cupom", "category": "MARKETING", "language": "pt_BR",
     "body": "Olá {{nome}}!"                                  # plain text, or
           | {"body": {"text": "..."}, "header": {...}, "footer": {...}, "buttons": [...]}
           | '{"body": {"text": "..."}, ...}',               # the same object as a JSON string
     "header": {...}, "footer": "...", "buttons": [...],       # optional, outside the object
     "examples": {"nome": "Ana"}}

Output: a :class:`TemplateSpec` whose ``content`` has the stored shape documented in
:mod:`zapgate.domain.templates`. :func:`public_body` turns stored content back into the
structured object the API returns, which a client may send back unchanged.

Errors: ``VALIDATION_ERROR`` (``details`` = ``[{field, message}]``), then, once the rest is
valid, ``TEMPLATE_EXAMPLES_REQUIRED`` (``details.missing``); ``TEMPLATE_CATEGORY_IMMUTABLE``
from :func:`for_update`.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from zapgate import errors
from zapgate.domain import phones, templates, urls
from zapgate.domain.problems import Problems

CATEGORIES = ("MARKETING", "UTILITY", "OTP")
CATEGORY_ALIASES = {"AUTHENTICATION": "OTP"}
HEADER_TYPES = ("NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT")
MEDIA_MIME_TYPES = {
    "IMAGE": ("image/jpeg", "image/png"),
    "VIDEO": ("video/mp4",),
    "DOCUMENT": ("application/pdf",),
}
BUTTON_LIMITS = {"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1}
MAX_NAME = 512
MAX_BODY = 1024
MAX_HEADER_TEXT = 60
MAX_FOOTER = 60
MAX_BUTTONS = 10
MAX_BUTTON_TEXT = 25  # Meta's limit for template button labels
MAX_COPY_CODE = 15
MAX_EXAMPLE = 1024

_NAME_SEPARATORS = re.compile(r"[\s._\-/]+")
_NAME = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:[_-]([A-Za-z]{2}))?")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,(.*)", re.DOTALL | re.ASCII)
_COPY_CODE = re.compile(r"[A-Za-z0-9]+")
_HEADER_FORMATTING = ("*", "~", "`")


@dataclass(frozen=True)
class TemplateSpec:
    """A valid template. ``name``/``category``/``language`` are None only in an update that
    leaves them unchanged."""

    name: str | None
    category: str | None
    language: str | None
    content: dict[str, Any]
    variables: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    name: str
    category: str
    language: str


def _new_problems() -> Problems:
    return Problems("template")


# -- entry points ----------------------------------------------------------------------------


def parse(body: Any, *, partial: bool = False) -> TemplateSpec:
    """Validate a create body (``partial=False``) or an update body (``partial=True``: name,
    category and language may be left out and keep their current values)."""
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Request body must be a JSON object")
    problems = _new_problems()
    name = _identity_field(body, "name", normalize_name, partial, problems)
    category = _identity_field(body, "category", normalize_category, partial, problems)
    language = _identity_field(body, "language", normalize_language, partial, problems)
    content = _content(body, problems)
    problems.raise_if_any()
    variables = tuple(templates.extract_variables(content))
    content["examples"] = _require_examples(content["examples"], variables)
    return TemplateSpec(name, category, language, content, variables)


def for_update(spec: TemplateSpec, current: Identity) -> TemplateSpec:
    """The update as it applies to ``current``: omitted identity fields keep their values and
    the category cannot change."""
    if spec.category is not None and spec.category != current.category:
        raise errors.ValidationFailed(
            f"The category of a template cannot change (it is {current.category})",
            code="TEMPLATE_CATEGORY_IMMUTABLE",
            details=[{"field": "category", "message": f"must stay {current.category}"}],
        )
    return replace(
        spec,
        name=spec.name or current.name,
        category=current.category,
        language=spec.language or current.language,
    )


def public_body(content: dict[str, Any]) -> dict[str, Any]:
    """Stored content as the API's structured object (the recommended input form)."""
    out: dict[str, Any] = {"body": {"text": content.get("body") or ""}}
    if content.get("header"):
        out["header"] = dict(content["header"])
    if content.get("footer"):
        out["footer"] = {"text": content["footer"]}
    if content.get("buttons"):
        out["buttons"] = [dict(b) for b in content["buttons"]]
    return out


# -- identity --------------------------------------------------------------------------------


def normalize_name(value: str) -> str | None:
    """``"Promo Cupom"`` -> ``"promo_cupom"``, ``"promoção-2"`` -> ``"promocao_2"``; None if it
    holds anything but letters, digits and separators."""
    decomposed = unicodedata.normalize("NFKD", value)
    text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    text = _NAME_SEPARATORS.sub("_", text).strip("_")
    if not _NAME.fullmatch(text) or len(text) > MAX_NAME:
        return None
    return text


def normalize_category(value: str) -> str | None:
    upper = value.strip().upper()
    upper = CATEGORY_ALIASES.get(upper, upper)
    return upper if upper in CATEGORIES else None


def normalize_language(value: str) -> str | None:
    """``pt_BR``, ``pt-br`` -> ``pt_BR``; ``EN`` -> ``en``."""
    match = _LANGUAGE.fullmatch(value.strip())
    if match is None:
        return None
    language, region = match.groups()
    return f"{language.lower()}_{region.upper()}" if region else language.lower()


_IDENTITY_HINTS = {
    "name": f"letters and digits with separators (becomes e.g. promo_cupom), at most {MAX_NAME} characters",
    "category": "one of MARKETING, UTILITY, OTP (AUTHENTICATION is an alias of OTP)",
    "language": "a language code like pt_BR, en_US or en",
}


def _identity_field(
    body: dict[str, Any], key: str, normalize: Callable[[str], str | None], partial: bool, problems: Problems
) -> str | None:
    value = body.get(key)
    if value is None and partial:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(key, "required: " + _IDENTITY_HINTS[key])
        return None
    normalized = normalize(value)
    if normalized is None:
        problems.add(key, "invalid: " + _IDENTITY_HINTS[key])
    return normalized


# -- content ---------------------------------------------------------------------------------


def _content(body: dict[str, Any], problems: Problems) -> dict[str, Any]:
    parts = _structured(body.get("body"), problems)
    for key in ("header", "footer", "buttons"):
        if body.get(key) is None:
            continue
        if parts.get(key) is not None:
            problems.add(key, "given both at the top level and inside body; give it once")
        parts[key] = body[key]
    return {
        "header": _header(parts.get("header"), problems),
        "body": _body_text(parts.get("body"), problems),
        "footer": _footer(parts.get("footer"), problems),
        "buttons": _buttons(parts.get("buttons"), problems),
        "examples": _examples(body.get("examples"), problems),
    }


def _structured(value: Any, problems: Problems) -> dict[str, Any]:
    """The three accepted forms of ``body`` as one dict of raw parts."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            decoded = orjson.loads(value)
        except orjson.JSONDecodeError:
            decoded = None
        if isinstance(decoded, dict):
            value = decoded
    if isinstance(value, str):
        return {"body": value}
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"body", "header", "footer", "buttons"})
        if unknown:
            problems.add(
                "body", f"unknown part(s) {', '.join(unknown)}; expected body, header, footer, buttons"
            )
        return dict(value)
    return {"body": value}  # None or a wrong type: reported as body.text


def _upper(value: Any) -> str | None:
    """A type name from JSON, upper-cased; None for anything but a string, so an object or a
    list given as a type is reported like an unknown name (and never used as a dict key)."""
    return value.upper() if isinstance(value, str) else None


def _text_of(value: Any) -> Any:
    """``{"text": "x"}`` and ``"x"`` both mean the text ``x``."""
    return value.get("text") if isinstance(value, dict) else value


def _body_text(value: Any, problems: Problems) -> str:
    text = _text_of(value)
    if not isinstance(text, str) or not text.strip():
        problems.add(
            "body.text", 'required: the text, or {"body": {"text": ...}, header?, footer?, buttons?}'
        )
        return ""
    if len(text) > MAX_BODY:
        problems.add("body.text", f"at most {MAX_BODY} characters (got {len(text)})")
    _check_placeholders("body.text", text, problems)
    stripped = text.strip()
    if templates.VARIABLE.match(stripped):
        problems.add("body.text", "must not start with a variable")
    if re.search(templates.VARIABLE.pattern + r"$", stripped):
        problems.add("body.text", "must not end with a variable")
    return text


def _check_placeholders(field_name: str, text: str, problems: Problems) -> None:
    for match in _PLACEHOLDER.finditer(text):
        if not templates.VARIABLE.fullmatch(match.group(0)):
            problems.add(
                field_name,
                f"invalid variable {match.group(0)!r}: variables are "
                "named, like {{nome}} (letters, digits, _)",
            )


def _footer(value: Any, problems: Problems) -> str | None:
    if value is None:
        return None
    text = _text_of(value)
    if not isinstance(text, str):
        problems.add("footer", 'must be a string or {"text": string}')
        return None
    if not text.strip():
        return None
    if len(text) > MAX_FOOTER:
        problems.add("footer", f"at most {MAX_FOOTER} characters (got {len(text)})")
    if "{{" in text or "}}" in text:
        problems.add("footer", "must not contain variables")
    return text


# -- header ----------------------------------------------------------------------------------


def _header(value: Any, problems: Problems) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add("header", 'must be an object like {"type": "TEXT", "text": ...}')
        return None
    kind = _upper(value.get("type", value.get("format")))
    if kind is None or kind not in HEADER_TYPES:
        problems.add("header.type", f"must be one of {', '.join(HEADER_TYPES)}")
        return None
    if kind == "NONE":
        return None
    if kind == "TEXT":
        return _text_header(value.get("text"), problems)
    return _media_header(kind, value, problems)


def _text_header(text: Any, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text.strip():
        problems.add("header.text", "required for a TEXT header")
        return None
    if len(text) > MAX_HEADER_TEXT:
        problems.add("header.text", f"at most {MAX_HEADER_TEXT} characters (got {len(text)})")
    if "\n" in text or "\r" in text:
        problems.add("header.text", "must not contain line breaks")
    _check_placeholders("header.text", text, problems)
    if len(templates.VARIABLE.findall(text)) > 1:
        problems.add("header.text", "at most one variable")
    plain = templates.VARIABLE.sub("", text)
    if any(_is_emoji(c) for c in plain):
        problems.add("header.text", "must not contain emoji")
    if any(mark in plain for mark in _HEADER_FORMATTING):
        problems.add("header.text", "must not contain formatting characters (* ~ `)")
    return {"type": "TEXT", "text": text}


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or code == 0xFE0F


def _media_header(kind: str, value: dict[str, Any], problems: Problems) -> dict[str, Any] | None:
    url, data = value.get("url"), value.get("base64")
    if (url is None) == (data is None):
        problems.add("header", f"a {kind} header needs exactly one of url or base64")
        return None
    if url is not None:
        if not isinstance(url, str) or not is_http_url(url):
            problems.add("header.url", "must be an http(s) URL")
        return {"type": kind, "url": url}
    if not isinstance(data, str) or not _valid_data_uri(data, MEDIA_MIME_TYPES[kind]):
        problems.add(
            "header.base64", "must be a base64 data URI of type " + " or ".join(MEDIA_MIME_TYPES[kind])
        )
    return {"type": kind, "base64": data}


def is_http_url(value: str) -> bool:
    return urls.is_http_url(value)


def _valid_data_uri(value: str, mime_types: tuple[str, ...]) -> bool:
    match = _DATA_URI.fullmatch(value.strip())
    if match is None or match.group(1).lower() not in mime_types:
        return False
    try:
        return bool(base64.b64decode(match.group(2), validate=True))
    except (binascii.Error, ValueError):
        return False


# -- buttons ---------------------------------------------------------------------------------


def _buttons(value: Any, problems: Problems) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add("buttons", "must be a list")
        return []
    if len(value) > MAX_BUTTONS:
        problems.add("buttons", f"at most {MAX_BUTTONS} buttons (got {len(value)})")
    out = [_button(f"buttons[{i}]", b, problems) for i, b in enumerate(value)]
    buttons = [b for b in out if b is not None]
    for kind, limit in BUTTON_LIMITS.items():
        count = sum(1 for b in buttons if b["type"] == kind)
        if count > limit:
            problems.add("buttons", f"at most {limit} {kind} button(s) (got {count})")
    return buttons


def _button(field_name: str, value: Any, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        problems.add(field_name, "must be an object")
        return None
    kind = _upper(value.get("type"))
    if kind is None or kind not in BUTTON_LIMITS:
        problems.add(f"{field_name}.type", f"must be one of {', '.join(BUTTON_LIMITS)}")
        return None
    if kind == "COPY_CODE":
        return _copy_code_button(field_name, value, problems)
    out = {"type": kind, "text": _button_text(field_name, value.get("text"), problems)}
    if kind == "URL":
        out["url"] = _button_url(field_name, value.get("url"), problems)
    if kind == "PHONE_NUMBER":
        out["phone_number"] = _button_phone(
            field_name, value.get("phone_number", value.get("phoneNumber")), problems
        )
    return out


def _button_text(field_name: str, text: Any, problems: Problems, *, required: bool = True) -> str | None:
    if text is None and not required:
        return None
    if not isinstance(text, str) or not text.strip():
        problems.add(f"{field_name}.text", "required, a non-empty string")
        return None
    if len(text) > MAX_BUTTON_TEXT:
        problems.add(f"{field_name}.text", f"at most {MAX_BUTTON_TEXT} characters")
    if "{{" in text:
        problems.add(f"{field_name}.text", "must not contain variables")
    return text


def _button_url(field_name: str, url: Any, problems: Problems) -> str | None:
    if not isinstance(url, str):
        problems.add(f"{field_name}.url", "required, an http(s) URL")
        return None
    found = templates.VARIABLE.findall(url)
    static = templates.VARIABLE.sub("x", url)
    if not is_http_url(static):
        problems.add(f"{field_name}.url", "must be an http(s) URL")
    _check_placeholders(f"{field_name}.url", url, problems)
    if len(found) > 1 or (found and not re.search(templates.VARIABLE.pattern + r"$", url)):
        problems.add(
            f"{field_name}.url",
            "a dynamic URL has one variable, at its end (e.g. https://loja.com/promo/{{link}})",
        )
    return url


def _button_phone(field_name: str, phone: Any, problems: Problems) -> str | None:
    normalized = phones.normalize_e164(phone) if isinstance(phone, str) else None
    if normalized is None:
        problems.add(f"{field_name}.phone_number", "required, an E.164 phone number")
    return normalized


def _copy_code_button(field_name: str, value: dict[str, Any], problems: Problems) -> dict[str, Any]:
    example = value.get("example")
    if not isinstance(example, str) or not _COPY_CODE.fullmatch(example) or len(example) > MAX_COPY_CODE:
        problems.add(
            f"{field_name}.example", f"required: the code, letters and digits only, at most {MAX_COPY_CODE}"
        )
    out: dict[str, Any] = {"type": "COPY_CODE", "example": example}
    text = _button_text(field_name, value.get("text"), problems, required=False)
    if text is not None:
        out["text"] = text
    return out


# -- examples --------------------------------------------------------------------------------


def _examples(value: Any, problems: Problems) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add("examples", "must be an object mapping each variable to a sample value")
        return {}
    out: dict[str, str] = {}
    for key, sample in value.items():
        if not isinstance(sample, str):
            problems.add(f"examples.{key}", "must be a string")
        elif len(sample) > MAX_EXAMPLE:
            problems.add(f"examples.{key}", f"at most {MAX_EXAMPLE} characters")
        else:
            out[key] = sample
    return out


def _require_examples(examples: dict[str, str], variables: tuple[str, ...]) -> dict[str, str]:
    """Keep the examples of the variables used; every variable needs one."""
    missing = [v for v in variables if not examples.get(v, "").strip()]
    if missing:
        raise errors.ValidationFailed(
            f"Examples are required for every variable; missing: {', '.join(missing)}",
            code="TEMPLATE_EXAMPLES_REQUIRED",
            details={"missing": missing},
        )
    return {v: examples[v] for v in variables}

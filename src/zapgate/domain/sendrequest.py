"""Parsing and validating a ``POST /v1/messages/send`` body (pure; no I/O).

Each problem becomes a clear error with the API's code: ``VALIDATION_ERROR`` with a ``details``
list of field problems, ``MODE_CONFLICT`` when modes are mixed, ``INVALID_DESTINATION``,
``CAPTION_NOT_ALLOWED``. Rules that need the number or the database (plan, template, provider
capabilities) are checked by the sending service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zapgate import clock, errors
from zapgate.domain import phones, urls
from zapgate.domain.problems import Problems

DAY_MS = 86_400_000
MAX_SCHEDULE_AHEAD_DAYS = 35
MAX_SCHEDULE_AHEAD_MS = MAX_SCHEDULE_AHEAD_DAYS * DAY_MS
# deliverUntil replaces the queue's 7-day limit (the sweeper fails a message at its deadline
# instead), so it is bounded as scheduling is: at most this long after the message's start.
MAX_DEADLINE_AFTER_START_DAYS = 35
MAX_DEADLINE_AFTER_START_MS = MAX_DEADLINE_AFTER_START_DAYS * DAY_MS
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_LABELS = 20
MAX_LABEL_LEN = 64
MEDIA_TYPES = ("image", "video", "document", "audio", "voice", "sticker")
HEADER_TYPES = ("text", "image", "video", "document")
BUTTON_TYPES = {
    "reply": "reply",
    "QUICK_REPLY": "reply",
    "url": "url",
    "URL": "url",
    "call": "call",
    "PHONE_NUMBER": "call",
    "copy": "copy",
    "COPY_CODE": "copy",
}
MAX_BUTTON_LABEL = 20
MAX_CARDS = 10
CARD_BUTTON_TYPES = {"QUICK_REPLY": "QUICK_REPLY", "reply": "QUICK_REPLY", "URL": "URL", "url": "URL"}
FLOW_ACTIONS = ("navigate", "data_exchange")
FLOW_MODES = ("published", "draft")


@dataclass(frozen=True)
class SendRequest:
    mode: str  # template | text | media | list | carousel | flow
    destination: str
    destination_kind: str  # phone | group | newsletter
    template_ref: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    media: str | None = None
    media_type: str | None = None
    caption: str | None = None
    file_name: str | None = None  # additive: the document's file name
    buttons: tuple[dict[str, str], ...] = ()
    header: dict[str, str] | None = None
    footer: str | None = None
    list: dict[str, Any] | None = None
    carousel: dict[str, Any] | None = None
    flow: dict[str, Any] | None = None
    labels: tuple[str, ...] = ()
    deliver_at: int | None = None
    deliver_until: int | None = None
    mark_read: bool | None = None

    @property
    def has_media(self) -> bool:
        return self.media is not None

    @property
    def is_base64_media(self) -> bool:
        return self.media is not None and self.media.startswith("data:")


def _new_problems() -> Problems:
    return Problems("request")


def parse(body: Any, *, now_ms: int) -> SendRequest:
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Request body must be a JSON object")
    problems = _new_problems()
    destination, kind = _destination(body)
    mode = _mode(body)
    fields = _typed_fields(body, problems)
    problems.raise_if_any()
    _mode_rules(mode, body, fields, problems)
    deliver_at, deliver_until = _schedule(body, now_ms, problems)
    problems.raise_if_any()
    return SendRequest(
        mode=mode,
        destination=destination,
        destination_kind=kind,
        template_ref=fields.get("templateId"),
        variables=fields.get("variables", {}),
        text=fields.get("text"),
        media=fields.get("media"),
        media_type=fields.get("mediaType") if "media" in fields else None,
        caption=fields.get("caption"),
        file_name=fields.get("fileName"),
        buttons=tuple(fields.get("buttons", ())),
        header=fields.get("header"),
        footer=fields.get("footer"),
        list=fields.get("list"),
        carousel=fields.get("carousel"),
        flow=fields.get("flow"),
        labels=tuple(fields.get("labels", ())),
        deliver_at=deliver_at,
        deliver_until=deliver_until,
        mark_read=fields.get("markRead"),
    )


def _destination(body: dict[str, Any]) -> tuple[str, str]:
    given = [k for k in ("destinationNumber", "groupId", "newsletterId") if body.get(k) not in (None, "")]
    if not given:
        raise errors.ValidationFailed(
            "One destination is required: destinationNumber, groupId or newsletterId",
            details=[{"field": "destinationNumber", "message": "required"}],
        )
    if len(given) > 1:
        raise errors.ValidationFailed(
            f"Exactly one destination is allowed, got {', '.join(given)}",
            code="MODE_CONFLICT",
            details=[{"field": k, "message": "conflicts"} for k in given],
        )
    key = given[0]
    value = body[key]
    if not isinstance(value, str):
        raise errors.ValidationFailed(
            f"{key} must be a string",
            code="INVALID_DESTINATION",
            details=[{"field": key, "message": "must be a string"}],
        )
    if key == "destinationNumber":
        if phones.is_bsuid(value):
            return value, "phone"
        normalized = phones.normalize_e164(value)
        if normalized is None:
            raise errors.ValidationFailed(
                f"destinationNumber {value!r} is not an E.164 phone number",
                code="INVALID_DESTINATION",
                details=[{"field": key, "message": "expected E.164, e.g. +5511988887777"}],
            )
        return normalized, "phone"
    if key == "groupId":
        if not phones.is_group_jid(value):
            raise errors.ValidationFailed(
                f"groupId {value!r} is not a group JID (…@g.us)",
                code="INVALID_DESTINATION",
                details=[{"field": key, "message": "expected …@g.us"}],
            )
        return value, "group"
    if not phones.is_newsletter_jid(value):
        raise errors.ValidationFailed(
            f"newsletterId {value!r} is not a channel JID (…@newsletter)",
            code="INVALID_DESTINATION",
            details=[{"field": key, "message": "expected …@newsletter"}],
        )
    return value, "newsletter"


def _present(body: dict[str, Any], key: str) -> bool:
    return body.get(key) is not None


def _mode(body: dict[str, Any]) -> str:
    exclusive = [k for k in ("templateId", "list", "carousel", "flow") if _present(body, k)]
    if len(exclusive) > 1:
        raise _conflict(f"{' and '.join(exclusive)} cannot be combined", exclusive)
    if exclusive:
        return {"templateId": "template"}.get(exclusive[0], exclusive[0])
    if _present(body, "media"):
        return "media"
    if _present(body, "text"):
        return "text"
    raise errors.ValidationFailed(
        "Nothing to send: give templateId, text, media (+ mediaType), list, carousel or flow",
        details=[{"field": "templateId|text|media", "message": "exactly one mode is required"}],
    )


def _conflict(message: str, keys: list[str]) -> errors.ValidationFailed:
    return errors.ValidationFailed(
        message, code="MODE_CONFLICT", details=[{"field": k, "message": "conflicts"} for k in keys]
    )


def _mode_rules(mode: str, body: dict[str, Any], fields: dict[str, Any], problems: Problems) -> None:
    has = {k for k in ("text", "media", "buttons", "header", "footer") if _present(body, k)}
    has_vars = bool(fields.get("variables"))
    if mode == "template":
        clash = sorted(has & {"text", "buttons", "header", "footer"})
        if clash:
            raise _conflict(f"templateId cannot be combined with {', '.join(clash)}", clash)
    elif mode == "media":
        clash = sorted(has & {"text", "buttons", "header", "footer"})
        if clash:
            hint = " (use caption for the media's text)" if "text" in clash else ""
            raise _conflict(f"Direct media cannot be combined with {', '.join(clash)}{hint}", clash)
        if has_vars:
            raise _conflict("variables are only allowed with templateId", ["variables"])
        if fields.get("caption") is not None and fields.get("mediaType") in ("audio", "voice", "sticker"):
            raise errors.ValidationFailed(
                f"A caption is not allowed on {fields['mediaType']} messages",
                code="CAPTION_NOT_ALLOWED",
                details=[{"field": "caption", "message": "not allowed for this type"}],
            )
    elif mode in ("list", "carousel", "flow"):
        clash = sorted(has & {"media", "buttons", "header"})
        if clash:
            raise _conflict(f"{mode} cannot be combined with {', '.join(clash)}", clash)
        if mode == "list" and not fields.get("text"):
            problems.add("text", "required: the body of the list message")
    else:  # text
        if has_vars:
            raise _conflict("variables are only allowed with templateId", ["variables"])
        if ("header" in has or "footer" in has) and "buttons" not in has:
            problems.add("header" if "header" in has else "footer", "only allowed together with buttons")
    if mode != "media" and fields.get("caption") is not None:
        problems.add("caption", "only allowed with direct media (media + mediaType)")


def _typed_fields(body: dict[str, Any], problems: Problems) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _string(body, "templateId", 1, 512, problems, out)
    _string(body, "text", 1, MAX_TEXT, problems, out)
    _string(body, "footer", 1, 60, problems, out)
    _string(body, "caption", 0, MAX_CAPTION, problems, out)
    _string(body, "fileName", 1, 240, problems, out)
    _variables(body, problems, out)
    _media(body, problems, out)
    _buttons(body, problems, out)
    _header(body, problems, out)
    _labels(body, problems, out)
    _objects(body, problems, out)
    if "markRead" in body and body["markRead"] is not None:
        if isinstance(body["markRead"], bool):
            out["markRead"] = body["markRead"]
        else:
            problems.add("markRead", "must be a boolean")
    return out


def _string(
    body: dict[str, Any], key: str, min_len: int, max_len: int, problems: Problems, out: dict[str, Any]
) -> None:
    value = body.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        problems.add(key, "must be a string")
    elif not (min_len <= len(value) <= max_len) or (min_len and not value.strip()):
        problems.add(key, f"must be {min_len}-{max_len} characters")
    else:
        out[key] = value


def _variables(body: dict[str, Any], problems: Problems, out: dict[str, Any]) -> None:
    value = body.get("variables")
    if value is None:
        return
    if not isinstance(value, dict):
        problems.add("variables", "must be an object of strings")
        return
    result: dict[str, str] = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            problems.add(f"variables.{k}", "must be a string")
        else:
            result[str(k)] = str(v)
    out["variables"] = result


def _media(body: dict[str, Any], problems: Problems, out: dict[str, Any]) -> None:
    media = body.get("media")
    media_type = body.get("mediaType")
    if media is None:
        if media_type is not None and not _present(body, "templateId"):
            problems.add("mediaType", "only allowed together with media")
        return
    if not isinstance(media, str) or not media:
        problems.add("media", "must be an http(s) URL or a base64 data URI")
        return
    lowered = media[:16].lower()
    if lowered.startswith("data:"):
        if ";base64," not in media[:200]:
            problems.add("media", "data URIs must be base64 (data:<mime>;base64,...)")
    elif not urls.is_http_url(media):
        problems.add("media", "must be an http(s) URL or a base64 data URI")
    out["media"] = media
    media_type = "image" if media_type is None else media_type
    if media_type not in MEDIA_TYPES:
        problems.add("mediaType", f"must be one of {', '.join(MEDIA_TYPES)}")
    out["mediaType"] = media_type


def _buttons(body: dict[str, Any], problems: Problems, out: dict[str, Any]) -> None:
    value = body.get("buttons")
    if value is None:
        return
    if not isinstance(value, list):
        problems.add("buttons", "must be an array")
        return
    if not value:
        return
    if len(value) > 3:
        problems.add("buttons", "at most 3 buttons")
        return
    parsed = []
    for i, button in enumerate(value):
        one = _button(button, f"buttons[{i}]", problems)
        if one is not None:
            parsed.append(one)
    out["buttons"] = parsed


def _button(button: Any, path: str, problems: Problems) -> dict[str, str] | None:
    if not isinstance(button, dict):
        problems.add(path, "must be an object")
        return None
    kind = _lookup(BUTTON_TYPES, button.get("type"))
    if kind is None:
        problems.add(f"{path}.type", "must be reply, url, call or copy")
        return None
    label = _button_label(button, path, problems)
    if label is None:
        return None
    result = {"type": kind, "label": label}
    if kind == "reply" and isinstance(button.get("id"), str) and 0 < len(button["id"]) <= 256:
        result["id"] = button["id"]  # additive: the id a reply comes back with
    required = {"url": "url", "call": "phoneNumber", "copy": "copyCode"}.get(kind)
    if required:
        value = button.get(
            required, button.get({"call": "phone_number", "copy": "example"}.get(kind, required))
        )
        value = _button_value(kind, value, f"{path}.{required}", problems)
        if value is None:
            return None
        result[required] = value
    return result


def _lookup(table: dict[str, str], key: Any) -> str | None:
    """``table[key]`` for a string key; None for an unknown name and for any other JSON value
    (a list or an object is not even hashable)."""
    return table.get(key) if isinstance(key, str) else None


def _button_label(button: dict[str, Any], path: str, problems: Problems) -> str | None:
    label = button.get("label", button.get("text"))
    if not isinstance(label, str) or not 1 <= len(label.strip()) <= MAX_BUTTON_LABEL:
        problems.add(f"{path}.label", f"required, 1-{MAX_BUTTON_LABEL} characters")
        return None
    return label


def _button_value(kind: str, value: Any, path: str, problems: Problems) -> str | None:
    """The url, phone number or code a button carries (a phone number comes back as E.164)."""
    if not isinstance(value, str) or not value:
        problems.add(path, f"required for {kind} buttons")
        return None
    if kind == "url" and not _is_http_url(value):
        problems.add(path, "must be an http(s) URL")
        return None
    if kind == "call":
        phone = phones.normalize_e164(value)
        if phone is None:
            problems.add(path, "must be an E.164 phone number, e.g. +5511988887777")
        return phone
    return value


def _is_http_url(value: str) -> bool:
    return urls.is_http_url(value)


def _header(body: dict[str, Any], problems: Problems, out: dict[str, Any]) -> None:
    value = body.get("header")
    if value is None:
        return
    if (
        not isinstance(value, dict)
        or value.get("type") not in HEADER_TYPES
        or not isinstance(value.get("content"), str)
        or not value["content"]
    ):
        problems.add("header", "must be {type: text|image|video|document, content: string}")
        return
    if value["type"] == "text" and len(value["content"]) > 60:
        problems.add("header.content", "text headers are at most 60 characters")
        return
    out["header"] = {"type": value["type"], "content": value["content"]}


def _labels(body: dict[str, Any], problems: Problems, out: dict[str, Any]) -> None:
    value = body.get("labels")
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        problems.add("labels", "must be an array of strings")
        return
    if len(value) > MAX_LABELS or any(not 1 <= len(x) <= MAX_LABEL_LEN for x in value):
        problems.add("labels", f"at most {MAX_LABELS} labels of 1-{MAX_LABEL_LEN} characters")
        return
    out["labels"] = list(dict.fromkeys(value))


def _objects(body: dict[str, Any], problems: Problems, out: dict[str, Any]) -> None:
    for key, check in (("list", _list), ("carousel", _carousel), ("flow", _flow)):
        value = body.get(key)
        if value is not None and check(value, problems):
            out[key] = value


def _list(value: Any, problems: Problems) -> bool:
    shape = "must be {buttonText, sections: [{title, rows: [{title, description?, rowId?}]}]}"
    sections = value.get("sections") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or not _text(value.get("buttonText"))
        or not isinstance(sections, list)
        or not sections
    ):
        problems.add("list", shape)
        return False
    before = len(problems)
    for i, section in enumerate(sections):
        _section(section, f"list.sections[{i}]", problems)
    return len(problems) == before


def _section(section: Any, path: str, problems: Problems) -> None:
    rows = section.get("rows") if isinstance(section, dict) else None
    if not isinstance(section, dict) or not isinstance(rows, list) or not rows:
        problems.add(path, "must be {title, rows: [...]} with at least one row")
        return
    if not _optional_text(section.get("title")):
        problems.add(f"{path}.title", "must be a string")
    for j, row in enumerate(rows):
        if not isinstance(row, dict) or not _text(row.get("title")):
            problems.add(
                f"{path}.rows[{j}]", "must be {title, description?, rowId?}: title is a non-empty string"
            )
        elif not all(_optional_text(row.get(k)) for k in ("description", "rowId", "id")):
            problems.add(f"{path}.rows[{j}]", "description and rowId must be strings")


def _carousel(value: Any, problems: Problems) -> bool:
    cards = value.get("cards") if isinstance(value, dict) else None
    if not isinstance(cards, list) or not 1 <= len(cards) <= MAX_CARDS:
        problems.add("carousel.cards", f"must be an array of 1-{MAX_CARDS} cards")
        return False
    if value.get("cardTemplate") is not None and not isinstance(value["cardTemplate"], dict):
        problems.add("carousel.cardTemplate", "must be an object")
    before = len(problems)
    for i, card in enumerate(cards):
        _card(card, f"carousel.cards[{i}]", problems)
    return len(problems) == before


def _card(card: Any, path: str, problems: Problems) -> None:
    """A card is ``{media: {...}, body?: string, buttons?: [{type, text, url?, payload?}]}``:
    every card carries its own media (an empty card has nothing to show)."""
    if not isinstance(card, dict) or not card:
        problems.add(
            path, "must be a non-empty object {media, body?, buttons?}; every card carries its own media"
        )
        return
    media = card.get("media")
    if not isinstance(media, dict) or not media:
        problems.add(f"{path}.media", "required: the card's media object (every card carries its own media)")
    if card.get("body") is not None and not _text(card["body"]):
        problems.add(f"{path}.body", "must be a non-empty string")
    buttons = card.get("buttons")
    if buttons is None:
        return
    if not isinstance(buttons, list):
        problems.add(f"{path}.buttons", "must be an array")
        return
    for j, button in enumerate(buttons):
        _card_button(button, f"{path}.buttons[{j}]", problems)


def _card_button(button: Any, path: str, problems: Problems) -> None:
    if not isinstance(button, dict):
        problems.add(path, "must be an object {type, text, url?, payload?}")
        return
    kind = _lookup(CARD_BUTTON_TYPES, button.get("type"))
    if kind is None:
        problems.add(f"{path}.type", "must be QUICK_REPLY or URL")
        return
    text = button.get("text", button.get("label"))
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= MAX_BUTTON_LABEL:
        problems.add(f"{path}.text", f"required, 1-{MAX_BUTTON_LABEL} characters")
    url = button.get("url")
    if kind == "URL" and not (isinstance(url, str) and _is_http_url(url)):
        problems.add(f"{path}.url", "required for URL buttons, an http(s) URL")
    if not _optional_text(button.get("payload")):
        problems.add(f"{path}.payload", "must be a string")


def _flow(value: Any, problems: Problems) -> bool:
    if not isinstance(value, dict) or not _text(value.get("flowId")) or not _text(value.get("cta")):
        problems.add("flow", "must be {flowId, cta, ...}")
        return False
    before = len(problems)
    if value.get("action") is not None and value["action"] not in FLOW_ACTIONS:
        problems.add("flow.action", f"must be one of {', '.join(FLOW_ACTIONS)}")
    if value.get("mode") is not None and value["mode"] not in FLOW_MODES:
        problems.add("flow.mode", f"must be one of {', '.join(FLOW_MODES)}")
    if not _optional_text(value.get("screen")):
        problems.add("flow.screen", "must be a string")
    if value.get("data") is not None and not isinstance(value["data"], dict):
        problems.add("flow.data", "must be an object")
    return len(problems) == before


def _text(value: Any) -> bool:
    """A non-blank string."""
    return isinstance(value, str) and bool(value.strip())


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _schedule(body: dict[str, Any], now_ms: int, problems: Problems) -> tuple[int | None, int | None]:
    deliver_at = _time(body, "deliverAt", problems)
    deliver_until = _time(body, "deliverUntil", problems)
    effective_at = max(deliver_at or now_ms, now_ms)
    if deliver_at is not None and deliver_at - now_ms > MAX_SCHEDULE_AHEAD_MS:
        problems.add("deliverAt", f"at most {MAX_SCHEDULE_AHEAD_DAYS} days ahead")
    if deliver_until is not None and deliver_until <= effective_at:
        problems.add("deliverUntil", "must be after deliverAt (and in the future)")
    elif deliver_until is not None and deliver_until - effective_at > MAX_DEADLINE_AFTER_START_MS:
        problems.add(
            "deliverUntil",
            f"at most {MAX_DEADLINE_AFTER_START_DAYS} days after "
            "deliverAt (after now when deliverAt is not given)",
        )
    return (effective_at if deliver_at is not None else None), deliver_until


def _time(body: dict[str, Any], key: str, problems: Problems) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(key, "must be an ISO-8601 string")
        return None
    try:
        return clock.parse_iso(value)
    except clock.DateOutOfRange:
        problems.add(key, f"must be {clock.BOUNDS_TEXT}")
    except ValueError:
        problems.add(key, "must be an ISO-8601 date-time, e.g. 2026-07-01T12:00:00.000Z")
    return None

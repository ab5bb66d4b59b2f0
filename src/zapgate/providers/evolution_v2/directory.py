"""Evolution API v2 directory and media answers -> our types (pure).

* ``GET /group/fetchAllGroups/{i}?getParticipants=false``: a bare array of
  ``{id, subject, size, owner, creation, desc, announce, ...}``
* ``POST /chat/whatsappNumbers/{i}``: ``[{jid, exists, number, name}]``, ``number`` echoing
  the input and ``jid`` WhatsApp's address (a Brazilian mobile's may drop or add the 9th digit)
* ``POST /chat/getBase64FromMediaMessage/{i}``: 201 ``{mediaType, fileName, caption, size,
  mimetype, base64, buffer}`` with raw base64; an unknown message is 400 "Message not found"
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from zapgate import errors
from zapgate.providers import common
from zapgate.providers.base import DownloadedMedia, Group, NumberCheck
from zapgate.providers.evolution_v2 import errortable

NOT_FOUND_HINT = "message not found"


def groups(body: Any) -> tuple[Group, ...]:
    rows = body if isinstance(body, list) else []
    return tuple(_group(row) for row in rows if isinstance(row, dict) and isinstance(row.get("id"), str))


def _group(row: dict[str, Any]) -> Group:
    size = row.get("size")
    return Group(row["id"], str(row.get("subject") or ""), size if isinstance(size, int) else None)


def number_checks(numbers: Sequence[str], body: Any) -> tuple[NumberCheck, ...]:
    """One check per number asked, in order: its row is the one echoing it (or, failing that,
    one whose ``jid`` is a form of it); a number without a row does not exist."""
    rows = [row for row in (body if isinstance(body, list) else []) if isinstance(row, dict)]
    return tuple(_check(number, rows) for number in numbers)


def _check(number: str, rows: list[dict[str, Any]]) -> NumberCheck:
    digits = number.lstrip("+")
    row = next((r for r in rows if str(r.get("number") or "").lstrip("+") == digits), None)
    if row is None:
        forms = common.phone_variants(digits)
        row = next((r for r in rows if _jid_user(r.get("jid")) in forms), None)
    if row is None or row.get("exists") is not True:
        return NumberCheck(number, False)
    jid = row.get("jid")
    return NumberCheck(number, True, jid if isinstance(jid, str) and jid else None)


def _jid_user(jid: Any) -> str:
    return str(jid or "").partition("@")[0]


def message_not_found(status: int, body: Any) -> bool:
    return status in (400, 404) and NOT_FOUND_HINT in errortable.describe(status, body).text.lower()


def media(body: Any, *, max_bytes: int) -> DownloadedMedia:
    """The decoded media; its size is judged from the base64 length before decoding."""
    answer = body if isinstance(body, dict) else {}
    encoded = answer.get("base64")
    if not isinstance(encoded, str) or not encoded:
        raise errors.Unavailable(
            "Evolution answered the media download without content", code="UPSTREAM_ERROR"
        )
    if len(encoded.rstrip("=")) * 3 // 4 > max_bytes:
        raise too_large(max_bytes)
    try:
        content = base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        raise errors.Unavailable(
            "Evolution answered the media download with bad base64", code="UPSTREAM_ERROR"
        ) from None
    if len(content) > max_bytes:
        raise too_large(max_bytes)
    mime = answer.get("mimetype")
    file_name = answer.get("fileName")
    return DownloadedMedia(
        content,
        mime if isinstance(mime, str) and mime else "application/octet-stream",
        file_name if isinstance(file_name, str) and file_name else None,
    )


def too_large(max_bytes: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"The media is larger than the download limit ({max_bytes:,} bytes; ZAPGATE_MEDIA_MAX_BYTES)",
        code="MEDIA_TOO_LARGE",
    )

"""Evolution GO directory answers -> our types (pure). Every answer is ``{"message": "success",
"data": ...}`` with whatsmeow's structs flattened under Go field names:

* ``GET /group/list``: ``[{JID, OwnerJID, Name, Topic, Participants: [{JID, IsAdmin, ...}], ...}]``
* ``GET /newsletter/list``: ``[{id, state: {type}, thread_metadata: {name: {text},
  subscribers_count, ...}, viewer_metadata: {role}}]``
* ``POST /user/check``: ``{Users: [{Query, IsInWhatsapp, JID, RemoteJID, LID, VerifiedName}]}``;
  ``Query`` is the number as the server reformatted it (a Brazilian mobile in area codes 31 and
  up loses its 9th digit), so results are matched to the numbers asked by digits, with and
  without that digit; ``data: null`` means the lookup itself failed
* an inbound media's link (``Message.mediaUrl`` with S3/MinIO): a presigned URL of the bucket,
  answered with the bytes; 403/404/410 once it expired or the object is gone
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zapgate import errors
from zapgate.providers import common, http
from zapgate.providers.base import DownloadedMedia, Group, Newsletter, NumberCheck

GONE = (403, 404, 410)  # an expired presigned link (S3 answers 403), or the object removed


def groups(data: Any) -> tuple[Group, ...]:
    rows = data if isinstance(data, list) else []
    return tuple(_group(row) for row in rows if isinstance(row, dict) and isinstance(row.get("JID"), str))


def _group(row: dict[str, Any]) -> Group:
    participants = row.get("Participants")
    size = len(participants) if isinstance(participants, list) else None
    return Group(row["JID"], str(row.get("Name") or ""), size)


def newsletters(data: Any) -> tuple[Newsletter, ...]:
    rows = data if isinstance(data, list) else []
    return tuple(
        Newsletter(row["id"], _newsletter_name(row))
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("id"), str)
    )


def _newsletter_name(row: dict[str, Any]) -> str:
    metadata = row.get("thread_metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    text = name.get("text") if isinstance(name, dict) else name
    return str(text or "")


def number_checks(numbers: Sequence[str], data: Any) -> tuple[NumberCheck, ...]:
    """One check per number asked, in order; a number no user answers for does not exist."""
    users = data.get("Users") if isinstance(data, dict) else None
    if not isinstance(users, list):
        raise errors.Unavailable("Evolution GO could not look the numbers up", code="UPSTREAM_ERROR")
    rows = [user for user in users if isinstance(user, dict)]
    return tuple(_check(number, rows) for number in numbers)


def _check(number: str, users: list[dict[str, Any]]) -> NumberCheck:
    """The user whose query is the number as asked, else one whose query or JID is the other
    form of it (both forms may be asked at once, and answered differently)."""
    digits = number.lstrip("+")
    forms = common.phone_variants(digits)
    ranked = (
        *(u for u in users if _digits(u.get("Query")) == digits),
        *(u for u in users if _digits(u.get("Query")) in forms),
        *(u for u in users if _digits(u.get("JID")) in forms),
    )
    user = ranked[0] if ranked else None
    if user is None or user.get("IsInWhatsapp") is not True:
        return NumberCheck(number, False)
    jid = user.get("JID")
    return NumberCheck(number, True, jid if isinstance(jid, str) and jid else None)


def _digits(value: Any) -> str:
    """The phone digits of a query (``+5531...``) or a JID (``5531...:12@s.whatsapp.net``)."""
    return str(value or "").partition("@")[0].split(":")[0].lstrip("+")


def media_link(link: str) -> str:
    """The link to read: an absolute http(s) URL, as Evolution GO put it in the webhook."""
    if not link.startswith(("http://", "https://")):
        raise errors.NotFound("The media link Evolution GO gave is not a URL", code="MEDIA_NOT_FOUND")
    return link


def media(response: http.Response) -> DownloadedMedia:
    """The bytes a media link answered (already cut at the limit by the download)."""
    if response.status_code in GONE:
        raise errors.NotFound(
            "The media's link has expired or its object is gone (S3/MinIO)", code="MEDIA_NOT_FOUND"
        )
    if not response.is_success:
        raise errors.Unavailable(
            f"The media's link answered HTTP {response.status_code}", code="UPSTREAM_ERROR"
        )
    mime = response.headers.get("content-type") or ""
    return DownloadedMedia(response.content, mime.split(";")[0].strip() or "application/octet-stream")


def media_too_large(max_bytes: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"The media is larger than the download limit ({max_bytes:,} bytes; ZAPGATE_MEDIA_MAX_BYTES)",
        code="MEDIA_TOO_LARGE",
    )


def media_unreachable(exc: http.TransportError) -> errors.Unavailable:
    return errors.Unavailable(f"The media's link is unreachable: {type(exc).__name__}", code="UPSTREAM_ERROR")

"""Evolution GO directory answers -> our types (pure). Every answer is ``{"message": "success",
"data": ...}`` with whatsmeow's structs flattened under Go field names:

* ``GET /group/list``: ``[{JID, OwnerJID, Name, Topic, Participants: [{JID, IsAdmin, ...}], ...}]``
* ``GET /newsletter/list``: ``[{id, state: {type}, thread_metadata: {name: {text},
  subscribers_count, ...}, viewer_metadata: {role}}]``
* ``POST /user/check``: ``{Users: [{Query, IsInWhatsapp, JID, RemoteJID, LID, VerifiedName}]}``;
  ``Query`` is the number as the server reformatted it (a Brazilian mobile in area codes 31 and
  up loses its 9th digit), so results are matched to the numbers asked by digits, with and
  without that digit; ``data: null`` means the lookup itself failed
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zapgate import errors
from zapgate.providers import common
from zapgate.providers.base import Group, Newsletter, NumberCheck


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

"""A number's directory on the wire: the ``POST /v1/numbers/check`` body as the list of numbers
to look up, and groups, channels and lookups as the API's JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from zapgate import errors
from zapgate.providers.base import Group, Newsletter, NumberCheck

CHECK_MAX = 20


def numbers_to_check(body: Any) -> list[str]:
    """``{"numbers": [...]}`` (1-20) or ``{"number": "..."}``."""
    if isinstance(body, dict) and isinstance(body.get("number"), str) and "numbers" not in body:
        return [body["number"]]
    numbers = body.get("numbers") if isinstance(body, dict) else None
    if (
        not isinstance(numbers, list)
        or not 1 <= len(numbers) <= CHECK_MAX
        or not all(isinstance(n, str) and n.strip() for n in numbers)
    ):
        raise errors.ValidationFailed(
            f"numbers must be an array of 1-{CHECK_MAX} phone numbers (or give one as number)",
            details=[{"field": "numbers", "message": f"1-{CHECK_MAX} strings"}],
        )
    return list(numbers)


def groups(found: Iterable[Group]) -> list[dict[str, Any]]:
    return [{"id": g.id, "subject": g.subject, "size": g.size} for g in found]


def newsletters(found: Iterable[Newsletter]) -> list[dict[str, Any]]:
    return [{"id": n.id, "name": n.name} for n in found]


def check_results(results: Sequence[tuple[str, NumberCheck | None]]) -> dict[str, Any]:
    """Each input with WhatsApp's answer; ``number``: WhatsApp's own form (E.164) of a number
    that exists; input that is not a phone number is ``INVALID_NUMBER``."""
    return {"results": [_check_result(raw, found) for raw, found in results]}


def _check_result(raw: str, found: NumberCheck | None) -> dict[str, Any]:
    if found is None:
        return {"input": raw, "exists": False, "number": None, "name": None, "error": "INVALID_NUMBER"}
    number = "+" + found.jid.split("@")[0] if found.exists and found.jid else None
    return {"input": raw, "exists": found.exists, "number": number, "name": found.name, "jid": found.jid}

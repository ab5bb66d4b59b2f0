"""A number's groups and channels, and WhatsApp lookups of phone numbers (``GET /v1/groups``,
``GET /v1/newsletters``, ``POST /v1/numbers/check``): asked of the number's provider (its
``Directory`` role). Lists are reused for ``directory_cache_seconds``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import phones
from zapgate.domain.numbers import Number
from zapgate.providers.base import Directory, Group, Newsletter, NumberCheck, NumberRef
from zapgate.services import credentials

T = TypeVar("T")


async def groups(container: Container, *, workspace_id: str, number_id: str) -> tuple[Group, ...]:
    number, directory, ref = await _directory(container, workspace_id, number_id, "Groups")
    return await _cached(container, f"groups:{number.id}", lambda: directory.list_groups(ref))


async def newsletters(container: Container, *, workspace_id: str, number_id: str) -> tuple[Newsletter, ...]:
    number, directory, ref = await _directory(container, workspace_id, number_id, "Channels (newsletters)")
    return await _cached(container, f"newsletters:{number.id}", lambda: directory.list_newsletters(ref))


async def check(
    container: Container, *, workspace_id: str, number_id: str, asked: Sequence[str]
) -> list[tuple[str, NumberCheck | None]]:
    """Each number asked, with the provider's answer (``None``: not a phone number). A Brazilian
    mobile is looked up with and without its 9th digit, and found when either form is."""
    _, directory, ref = await _directory(container, workspace_id, number_id, "Number checks")
    normalized = {raw: phones.normalize_e164(raw) for raw in asked}
    forms: dict[str, list[str]] = {
        raw: _brazilian_forms(e164) for raw, e164 in normalized.items() if e164 is not None
    }
    queries = list(dict.fromkeys(form for found in forms.values() for form in found))
    answers = {a.number: a for a in await directory.check_numbers(ref, queries)} if queries else {}
    results: list[tuple[str, NumberCheck | None]] = []
    for raw in asked:
        candidates = [answers[f] for f in forms.get(raw, []) if f in answers]
        if raw not in forms:
            results.append((raw, None))
            continue
        found = next((c for c in candidates if c.exists), None)
        results.append((raw, found or NumberCheck(forms[raw][0], False)))
    return results


def _brazilian_forms(e164: str) -> list[str]:
    """``e164`` first, then the other form of a Brazilian mobile (9th digit added or removed)."""
    digits = e164.lstrip("+")
    if not digits.startswith("55") or len(digits) not in (12, 13):
        return [e164]
    area, rest = digits[2:4], digits[4:]
    if len(rest) == 9 and rest[0] == "9" and rest[1] in "6789":  # a mobile: 9 + [6-9]xxxxxxx
        return [e164, f"+55{area}{rest[1:]}"]
    if len(rest) == 8 and rest[0] in "6789":
        return [e164, f"+55{area}9{rest}"]
    return [e164]


async def _directory(
    container: Container, workspace_id: str, number_id: str, what: str
) -> tuple[Number, Directory, NumberRef]:
    number = await container.repos.numbers.get(workspace_id, number_id)
    if number is None:
        raise errors.NotFound("WhatsApp number not found", code="NUMBER_NOT_FOUND")
    features = container.providers.features(number.provider)
    directory = container.providers.directory(number.provider)
    if directory is None:
        if features.cloud_api:
            raise errors.ValidationFailed(
                f"{what} are not available on Meta Cloud API numbers", code="NOT_SUPPORTED_FOR_META"
            )
        raise errors.ValidationFailed(
            f"{what} are not available on {features.label} numbers", code="NOT_SUPPORTED"
        )
    if not number.link_open:
        raise errors.Conflict(
            "The number is not connected to WhatsApp: pair it first (POST /v1/numbers/{id}/connect)",
            code="WHATSAPP_INSTANCE_NOT_CONNECTED",
        )
    return number, directory, credentials.working_ref(container, number)


async def _cached(container: Container, key: str, load: Callable[[], Awaitable[T]]) -> T:
    hit, value = container.directory_cache.get(key)
    if hit:
        return cast(T, value)
    loaded = await load()
    container.directory_cache.put(key, loaded)
    return loaded

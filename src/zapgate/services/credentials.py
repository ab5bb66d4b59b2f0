"""A number row as the provider seam sees it (``NumberRef``), credentials decrypted."""

from __future__ import annotations

from typing import Any

import orjson

from zapgate.container import Container
from zapgate.domain.numbers import PRIMARY, SECONDARY
from zapgate.domain.queue import LinkedNumber, SealedNumber
from zapgate.providers.base import NumberRef


def seal_credentials(container: Container, credentials: dict[str, Any]) -> str:
    return container.secrets.seal(orjson.dumps(credentials).decode())


def open_credentials(container: Container, sealed: str | None) -> dict[str, Any]:
    if not sealed:
        return {}
    value = orjson.loads(container.secrets.open(sealed))
    return value if isinstance(value, dict) else {}


def number_ref(container: Container, row: SealedNumber) -> NumberRef:
    """The number through its primary link."""
    return _ref(container, row, row.credentials_enc)


def link_ref(container: Container, row: LinkedNumber, link: str) -> NumberRef:
    """The number through one of its links (``primary`` or ``secondary``)."""
    return _ref(container, row, sealed_of(row, link))


def sealed_of(row: LinkedNumber, link: str) -> str | None:
    """The sealed credentials of one of the number's links."""
    return row.secondary_credentials_enc if link == SECONDARY else row.credentials_enc


def _ref(container: Container, row: SealedNumber, sealed: str | None) -> NumberRef:
    return NumberRef(
        id=row.id,
        number=row.number,
        provider=row.provider,
        official=bool(row.official),
        credentials=open_credentials(container, sealed) or None,
    )


def sending_link(row: LinkedNumber) -> str:
    """The link a number works through now: its primary unless only the secondary is OPEN
    (failover)."""
    if row.state != "OPEN" and row.secondary_state == "OPEN" and row.secondary_credentials_enc:
        return SECONDARY
    return PRIMARY


def working_ref(container: Container, row: LinkedNumber) -> NumberRef:
    """The number through the link it works through now (:func:`sending_link`)."""
    return link_ref(container, row, sending_link(row))

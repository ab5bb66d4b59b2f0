"""A number row as the provider seam sees it (``NumberRef``), credentials decrypted."""

from __future__ import annotations

from typing import Any

import orjson

from zapgate.container import Container
from zapgate.domain.queue import SealedNumber
from zapgate.providers.base import NumberRef


def seal_credentials(container: Container, credentials: dict[str, Any]) -> str:
    return container.secrets.seal(orjson.dumps(credentials).decode())


def open_credentials(container: Container, sealed: str | None) -> dict[str, Any]:
    if not sealed:
        return {}
    value = orjson.loads(container.secrets.open(sealed))
    return value if isinstance(value, dict) else {}


def number_ref(container: Container, row: SealedNumber) -> NumberRef:
    return NumberRef(
        id=row.id,
        number=row.number,
        provider=row.provider,
        official=bool(row.official),
        credentials=open_credentials(container, row.credentials_enc) or None,
    )

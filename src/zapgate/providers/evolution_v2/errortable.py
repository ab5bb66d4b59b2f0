"""Evolution API v2 error answers -> our exceptions (pure; a table tested row by row).

Evolution's envelope: ``{"status": 400, "error": "Bad Request", "response": {"message": [...]}}``
where ``message`` is a list (of strings, or of ``{jid, exists, number}`` lookups for a recipient
not on WhatsApp) and, for 401 and unwrapped errors such as Baileys' "Connection Closed", a
plain string. Errors raised inside the send pipeline come back as 400 ``["Error: <text>"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zapgate import errors

MAX_DETAIL = 300
# Socket-level failures: the instance is offline, the message can go later.
DISCONNECTED_HINTS = ("connection closed", "connection lost", "not connected", "connection terminated")
TIMEOUT_HINTS = ("timed out", "timeout")


@dataclass(frozen=True)
class EvolutionError:
    status: int
    messages: tuple[str, ...]
    not_on_whatsapp: bool

    @property
    def text(self) -> str:
        joined = "; ".join(self.messages) or f"HTTP {self.status}"
        return joined[:MAX_DETAIL]

    def mentions(self, hints: tuple[str, ...]) -> bool:
        lowered = self.text.lower()
        return any(h in lowered for h in hints)

    @property
    def instance_missing(self) -> bool:
        return self.status == 404 and "instance does not exist" in self.text


def describe(status: int, body: Any) -> EvolutionError:
    raw = (
        body.get("response", {}).get("message")
        if isinstance(body, dict) and isinstance(body.get("response"), dict)
        else None
    )
    if raw is None and isinstance(body, dict):
        raw = body.get("message") or body.get("error")
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    lookups = [i for i in items if isinstance(i, dict)]
    return EvolutionError(
        status=status,
        messages=tuple(_item_text(i) for i in items),
        not_on_whatsapp=any(i.get("exists") is False for i in lookups),
    )


def _item_text(item: Any) -> str:
    if isinstance(item, str):
        return item
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def send_error(status: int, body: Any) -> errors.ProviderError:
    """The exception for a failed send call (anything but 200/201)."""
    found = describe(status, body)
    if found.not_on_whatsapp:
        return errors.ProviderPermanentError(
            f"The recipient is not on WhatsApp (Evolution {status}: {found.text})", code="WHATSAPP_NOT_EXIST"
        )
    if status == 401:
        return errors.ProviderAuthError("Evolution rejected the API key (401 Unauthorized)")
    if found.instance_missing:
        return errors.ProviderTemporaryError(
            f"The Evolution instance is missing ({found.text})",
            code="NUMBER_DISCONNECTED",
            health="INSTANCE_MISSING",
        )
    if found.mentions(DISCONNECTED_HINTS):
        return errors.ProviderTemporaryError(
            f"The WhatsApp session is not connected (Evolution {status}: {found.text})",
            code="NUMBER_DISCONNECTED",
            health="DISCONNECTED",
        )
    if status >= 500 or status in (408, 425, 429) or found.mentions(TIMEOUT_HINTS):
        return errors.ProviderTemporaryError(f"Evolution error {status}: {found.text}")
    if 400 <= status < 500:
        return errors.ProviderPermanentError(
            f"Evolution rejected the message ({status}): {found.text}", code="PROVIDER_REJECTED"
        )
    return errors.ProviderTemporaryError(f"Unexpected Evolution answer {status}: {found.text}")


def management_error(status: int, body: Any) -> errors.ZapgateError | errors.ProviderAuthError:
    """The exception for a failed instance-management call (create/connect/state/delete)."""
    found = describe(status, body)
    if status == 401:
        return errors.ProviderAuthError("Evolution rejected the API key (401 Unauthorized)")
    if status in (400, 403, 404, 422):
        # 403 = instance name already in use; 404 = unknown instance.
        return errors.ValidationFailed(
            f"Evolution refused the request ({status}): {found.text}", code="PROVIDER_REJECTED"
        )
    return errors.Unavailable(f"Evolution error {status}: {found.text}", code="UPSTREAM_ERROR")

"""Records of the webhook outbox (pure): who receives a number's customer events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subscriber:
    """An active webhook endpoint of a number and the events it asked for, as stored (a JSON
    list of event names or ``"*"``)."""

    id: str
    events: Any

"""Collecting field problems of one input and raising them together as ``VALIDATION_ERROR``."""

from __future__ import annotations

from zapgate import errors


class Problems:
    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.items: list[dict[str, str]] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, field_name: str, message: str) -> None:
        self.items.append({"field": field_name, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise errors.ValidationFailed(
                f"Invalid {self.subject}: {first['field']}: {first['message']}", details=self.items
            )

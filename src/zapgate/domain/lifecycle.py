"""The message state machine (design §3): forward only, skipped states filled in rank order."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


RANK = {Status.QUEUED: 0, Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}
TERMINAL = frozenset({Status.READ, Status.FAILED, Status.CANCELED})
_BY_RANK = [Status.QUEUED, Status.SENT, Status.DELIVERED, Status.READ]


def path(current: Status, target: Status, *, provider_took_it: bool = False) -> list[Status]:
    """The states to enter, in order, to move ``current`` towards ``target``.

    Empty when the receipt is a duplicate, stale or not allowed (it is still recorded in the
    timeline by the caller, but changes nothing). ``provider_took_it``: the change is the
    provider's own receipt for a message it accepted (it names the provider's message id), so a
    message still QUEUED (the provider's answer not recorded yet: its receipt overtook it) was
    SENT before it FAILED.
    """
    if current in TERMINAL:
        return []
    if target is Status.CANCELED:
        return [Status.CANCELED] if current is Status.QUEUED else []
    if target is Status.FAILED:
        # FAILED never follows DELIVERED or READ: the message reached the device.
        if current is Status.QUEUED and provider_took_it:
            return [Status.SENT, Status.FAILED]
        return [Status.FAILED] if current in (Status.QUEUED, Status.SENT) else []
    start, end = RANK[current], RANK[target]
    return _BY_RANK[start + 1 : end + 1]


TIMESTAMP_COLUMN = {
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "read_at",
    Status.FAILED: "failed_at",
    Status.CANCELED: "canceled_at",
}

"""Customer webhook endpoints as records (pure): an endpoint, the inputs that create and change
one, its delivery log and what a test event or a redelivery queued.

Signing secrets exist only in :class:`CreatedEndpoint` and :class:`RotatedSecret`, once: a read
of an endpoint never carries one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PREVIOUS_SECRET_TTL_MS = 24 * 3600 * 1000
TEST_EVENT = "webhook.test"
MAX_NAME_LENGTH = 200
LOG_LIMIT_MAX = 50
NOT_ATTEMPTED = "Not delivered: the webhook was deactivated before this event was sent"
PATCHABLE = ("name", "url", "active", "events")


@dataclass(frozen=True)
class Scope:
    """The endpoints a caller may see: a workspace's, or only one number's of it."""

    workspace_id: str
    number_id: str | None = None


@dataclass(frozen=True)
class KeyRef:
    """A live API key of the endpoint's number."""

    id: str
    name: str


@dataclass(frozen=True)
class Endpoint:
    id: str
    workspace_id: str
    number_id: str
    name: str
    url: str
    active: bool
    events: tuple[str, ...]
    created_at: int
    updated_at: int
    last_triggered_at: int | None = None
    disabled_reason: str | None = None
    api_keys: tuple[KeyRef, ...] = ()


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint with its signing secret: shown once."""

    endpoint: Endpoint
    secret: str = field(repr=False)


@dataclass(frozen=True)
class RotatedSecret:
    """The endpoint's new signing secret (shown once); the previous one signs until
    ``previous_secret_until``."""

    endpoint: Endpoint
    secret: str = field(repr=False)
    previous_secret_until: int = 0


@dataclass(frozen=True)
class NewEndpoint:
    """A checked registration: its number, target URL, name (None: the URL's host) and events."""

    number_id: str
    url: str
    name: str | None
    events: tuple[str, ...]


@dataclass(frozen=True)
class EndpointPatch:
    """A checked change: None leaves a field as it is (at least one is set)."""

    name: str | None = None
    url: str | None = None
    active: bool | None = None
    events: tuple[str, ...] | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields it sets, sorted."""
        return tuple(sorted(f for f in PATCHABLE if getattr(self, f) is not None))


@dataclass(frozen=True)
class LogQuery:
    limit: int = LOG_LIMIT_MAX
    event: str | None = None


@dataclass(frozen=True)
class DeliveredEvent:
    """The event a delivery carries (``body`` is the JSON sent, as text)."""

    delivery_id: str
    event_id: str
    event: str
    body: str


@dataclass(frozen=True)
class Attempt:
    """One recorded attempt of a delivery."""

    delivery: DeliveredEvent
    attempt: int
    status_code: int | None
    response_excerpt: str | None
    duration_ms: int | None
    error: str | None
    created_at: int


@dataclass(frozen=True)
class Unattempted:
    """A delivery with no attempt row: PENDING, or FAILED when dropped before any attempt."""

    delivery: DeliveredEvent
    status: str
    attempts: int
    next_attempt_at: int | None
    updated_at: int


@dataclass(frozen=True)
class LogEntry:
    """One item of the delivery log; ``next_attempt_at`` is set for PENDING items only."""

    delivery: DeliveredEvent
    attempt: int
    status: str  # SUCCESS | FAILED | PENDING
    status_code: int | None
    response: str | None
    duration_ms: int | None
    error: str | None
    created_at: int
    next_attempt_at: int | None = None


@dataclass(frozen=True)
class Queued:
    """A delivery queued by a test event or a redelivery (of ``redelivery_of``)."""

    delivery_id: str
    event_id: str
    event: str
    redelivery_of: str | None = None


def attempt_entry(row: Attempt) -> tuple[int, int, LogEntry]:
    ok = row.status_code is not None and 200 <= row.status_code < 300
    entry = LogEntry(
        delivery=row.delivery,
        attempt=row.attempt,
        status="SUCCESS" if ok else "FAILED",
        status_code=row.status_code,
        response=row.response_excerpt,
        duration_ms=row.duration_ms,
        error=row.error,
        created_at=row.created_at,
    )
    return row.created_at, 0, entry


def unattempted_entry(row: Unattempted) -> tuple[int, int, LogEntry]:
    """The next attempt of a PENDING delivery, or a dropped one (attempt 0)."""
    if row.status == "PENDING":
        entry = LogEntry(
            delivery=row.delivery,
            attempt=row.attempts + 1,
            status="PENDING",
            status_code=None,
            response=None,
            duration_ms=None,
            error=None,
            created_at=row.updated_at,
            next_attempt_at=row.next_attempt_at,
        )
    else:  # FAILED before any attempt: dropped when its endpoint was deactivated
        entry = LogEntry(
            delivery=row.delivery,
            attempt=0,
            status="FAILED",
            status_code=None,
            response=None,
            duration_ms=None,
            error=NOT_ATTEMPTED,
            created_at=row.updated_at,
        )
    # Sorts before an attempt recorded in the same millisecond: it is the later one.
    return row.updated_at, 1, entry


def merge_log(
    attempts: tuple[Attempt, ...], unattempted: tuple[Unattempted, ...], limit: int
) -> tuple[LogEntry, ...]:
    """Attempts and unattempted deliveries, newest first, at most ``limit``."""
    merged = [attempt_entry(r) for r in attempts] + [unattempted_entry(r) for r in unattempted]
    merged.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return tuple(entry for _, _, entry in merged[:limit])

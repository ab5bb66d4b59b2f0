"""What the dashboard shows that the services' records do not hold as such: the overview's rows
per day and its chart data, a message's timeline with who really asked, the message log's
status choices. Pure functions of records; times stay epoch milliseconds (the templates format
them with ``core``'s ``isotime`` and ``utctime`` filters), so the API's wire views
(``web.views``) stay at the API's edge."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from zapgate.domain.analytics import Figures
from zapgate.domain.lifecycle import Status
from zapgate.domain.messages import TimelineEntry

STATUSES = tuple(s.value for s in Status)
# The first timeline row of every send says ``api``: who really asked is the message's origin.
SOURCES = {"DASHBOARD": "dashboard", "SYSTEM": "system"}


# -- the overview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRow:
    """One local day of the overview's table."""

    day: str  # YYYY-MM-DD in the figures' zone
    messages: int
    sent: int
    failed: int


def day_rows(figures: Figures) -> list[DayRow]:
    """The period's days, oldest first, with their three counts."""
    return [
        DayRow(m.day.isoformat(), m.count, s.count, f.count)
        for m, s, f in zip(figures.daily_messages, figures.daily_sent, figures.daily_failed, strict=True)
    ]


def chart_data(figures: Figures) -> dict[str, list[str] | list[int]]:
    """The daily chart's series, as ``overview.js`` reads them."""
    rows = day_rows(figures)
    return {
        "dates": [r.day for r in rows],
        "messages": [r.messages for r in rows],
        "sent": [r.sent for r in rows],
        "failed": [r.failed for r in rows],
    }


def distribution_total(figures: Figures) -> int:
    """Messages created in the period, each counted once by its current status."""
    return sum(c.count for c in figures.status_distribution)


# -- a message -------------------------------------------------------------------------------


def timeline(entries: tuple[TimelineEntry, ...], origin: str) -> list[TimelineEntry]:
    """The timeline with its ``QUEUED`` row from the API credited to the message's origin."""
    source = SOURCES.get(origin, "api")
    return [
        dataclasses.replace(e, source=source) if e.source == "api" and e.status == "QUEUED" else e
        for e in entries
    ]

"""``GET /v1/analytics/dashboard``: a number's delivery figures."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal, TypeAlias

from pydantic import Field

from zapgate.domain.analytics import PERIODS
from zapgate.web.schemas.base import Answer

if TYPE_CHECKING:
    Period: TypeAlias = str
else:  # the periods the domain knows (a Literal of run-time values)
    Period = Literal[tuple(PERIODS)]

_PERCENT = (
    "Versus the previous period of the same length, in percent; when that period had none: 100 "
    "if this one has some, else 0"
)


class DayCount(Answer):
    date: dt.date
    count: int


class StatusDistribution(Answer):
    queued: int
    sent: int
    delivered: int
    read: int
    failed: int
    canceled: int


class DeliveryLatency(Answer):
    p50: int | None
    p95: int | None


class DashboardStats(Answer):
    total_sent: int = Field(description="SENT, DELIVERED or READ")
    total_failed: int
    sent_percent_change: float = Field(description=_PERCENT)
    failed_percent_change: float = Field(description=_PERCENT)
    failure_rate: float = Field(description="failed / (sent + failed) * 100")
    previous_total_sent: int = Field(description="totalSent of the previous period")
    previous_total_failed: int = Field(description="totalFailed of the previous period")
    daily_messages: list[DayCount] = Field(description="Messages created per local day")
    daily_sent: list[DayCount]
    daily_failed: list[DayCount]
    status_distribution: StatusDistribution
    delivery_latency_ms: DeliveryLatency
    period: Period
    timezone: str
    from_: dt.datetime = Field(alias="from")
    to: dt.datetime

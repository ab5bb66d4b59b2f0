"""``GET /v1/analytics/dashboard``: a thin route over ``services.analytics``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from zapgate.domain.analytics import PERIODS
from zapgate.services import analytics
from zapgate.web.deps import ContainerDep, NumberIdDep
from zapgate.web.errors import error_responses
from zapgate.web.views import analytics as views

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

_DAYS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"date": {"type": "string", "format": "date"}, "count": {"type": "integer"}},
    },
}
_PERCENT: dict[str, Any] = {
    "type": "number",
    "description": "Versus the previous period of the same length, in percent; when that period had "
    "none: 100 if this one has some, else 0",
}
STATS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "totalSent": {"type": "integer", "description": "SENT, DELIVERED or READ"},
        "totalFailed": {"type": "integer"},
        "sentPercentChange": _PERCENT,
        "failedPercentChange": _PERCENT,
        "failureRate": {"type": "number", "description": "failed / (sent + failed) * 100"},
        "previousTotalSent": {"type": "integer", "description": "totalSent of the previous period"},
        "previousTotalFailed": {"type": "integer", "description": "totalFailed of the previous period"},
        "dailyMessages": {**_DAYS, "description": "Messages created per local day"},
        "dailySent": _DAYS,
        "dailyFailed": _DAYS,
        "statusDistribution": {
            "type": "object",
            "properties": {
                s: {"type": "integer"} for s in ("queued", "sent", "delivered", "read", "failed", "canceled")
            },
        },
        "deliveryLatencyMs": {
            "type": "object",
            "properties": {
                "p50": {"type": "integer", "nullable": True},
                "p95": {"type": "integer", "nullable": True},
            },
        },
        "period": {"type": "string", "enum": list(PERIODS)},
        "timezone": {"type": "string"},
        "from": {"type": "string", "format": "date-time"},
        "to": {"type": "string", "format": "date-time"},
    },
}
PeriodQuery = Annotated[str | None, Query(description="7d | 30d (default) | 90d")]
ZoneQuery = Annotated[str | None, Query(description="IANA time zone of the day buckets (default UTC)")]


@router.get(
    "/dashboard",
    responses={
        200: {
            "description": "The number's delivery figures",
            "content": {"application/json": {"schema": STATS_SCHEMA}},
        },
        **error_responses(
            (400, "VALIDATION_ERROR"), (401, "UNAUTHORIZED"), (403, "TENANT_SCOPE_NOT_ALLOWED")
        ),
    },
)
async def dashboard(
    container: ContainerDep,
    number_id: NumberIdDep,
    period: PeriodQuery = None,
    tz: ZoneQuery = None,
    timezone: ZoneQuery = None,
) -> Any:
    """Sent and failed totals, failure rate, messages per day, status distribution and time
    to delivered of the key's number over the last 7, 30 or 90 days. ``timezone`` is an alias
    of ``tz``."""
    query = views.dashboard_query(number_id, period, tz if tz is not None else timezone)
    return views.dashboard(await analytics.dashboard(container, query))

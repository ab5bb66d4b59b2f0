"""``GET /v1/analytics/dashboard``: a thin route over ``services.analytics``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from zapgate.services import analytics
from zapgate.web import openapi
from zapgate.web.deps import ContainerDep, NumberIdDep
from zapgate.web.errors import error_responses
from zapgate.web.schemas import analytics as schemas
from zapgate.web.views import analytics as views

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

PeriodQuery = Annotated[str | None, Query(description="7d | 30d (default) | 90d")]
ZoneQuery = Annotated[str | None, Query(description="IANA time zone of the day buckets (default UTC)")]


@router.get(
    "/dashboard",
    responses={
        **openapi.response(schemas.DashboardStats, "The number's delivery figures"),
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

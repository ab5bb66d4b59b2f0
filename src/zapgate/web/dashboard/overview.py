"""``/``: the overview — one number's delivery figures over 7, 30 or 90 days, the same numbers
``GET /v1/analytics/dashboard`` answers (both call ``services.analytics.dashboard``). The page
renders the :class:`Figures` record; ``period`` and ``tz`` go through the API's own checks
(``web.views.analytics.dashboard_query``, which returns a :class:`DashboardQuery`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from zapgate.container import Container
from zapgate.domain.analytics import known_zone
from zapgate.services import analytics
from zapgate.web.dashboard import core, present
from zapgate.web.deps import ContainerDep
from zapgate.web.views import analytics as query_params

router = core.page_router()

PERIODS = [("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days")]


def duration(ms: int | None) -> str:
    """A latency for people: ``850 ms``, ``1.2 s``, ``3 min 20 s``, ``2 h 5 min``."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 9950:
        return f"{ms / 1000:.1f} s".replace(".0 s", " s")
    minutes, seconds = divmod(round(ms / 1000), 60)
    if minutes == 0:
        return f"{seconds} s"
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def percent(value: float | None) -> str:
    """The API's percentage without trailing zeros: ``25``, ``0.25``, ``33.33``."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


@router.get("/")
async def overview(
    request: Request,
    container: ContainerDep,
    session: core.Session,
    number: str | None = None,
    period: str | None = None,
    tz: str | None = None,
) -> Response:
    numbers = await core.workspace_numbers(container, session.workspace_id)
    current = core.pick_number(numbers, number)
    context: dict[str, Any] = {
        "title": "Overview",
        "numbers": numbers,
        "current": current,
        "periods": PERIODS,
        "duration": duration,
        "percent": percent,
    }
    if current is not None:
        context.update(await _figures(container, current.id, period, tz))
    return core.render(request, "overview/index.html", context)


async def _figures(
    container: Container, number_id: str, period: str | None, tz: str | None
) -> dict[str, Any]:
    # The zone comes from the viewer's browser: one this server does not know shows UTC
    # with a note rather than an error page.
    known = not tz or known_zone(tz)
    query = query_params.dashboard_query(number_id, period, tz if known else None)
    figures = await analytics.dashboard(container, query)
    total = present.distribution_total(figures)
    context: dict[str, Any] = {
        "figures": figures,
        "days": present.day_rows(figures),
        "chart": present.chart_data(figures),
        "total": total,
        "period": figures.period,
        "tz": figures.zone_name,
        "has_messages": total > 0 or await analytics.has_messages(container, number_id=number_id),
    }
    if not known:
        context.update(flash=f"Unknown time zone {tz!r}: days are shown in UTC.", flash_kind="warn")
    return context

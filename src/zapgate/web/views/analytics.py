"""Delivery figures on the wire: the query parameters of ``GET /v1/analytics/dashboard`` (and
the overview page) as a :class:`DashboardQuery`, and :class:`Figures` as the endpoint's JSON."""

from __future__ import annotations

from typing import Any

from zapgate import errors
from zapgate.clock import iso
from zapgate.domain.analytics import (
    DEFAULT_PERIOD,
    DEFAULT_ZONE,
    PERIODS,
    DashboardQuery,
    DayCount,
    Figures,
    known_zone,
)


def dashboard_query(number_id: str, period: str | None, tz: str | None) -> DashboardQuery:
    """``period`` (7d | 30d | 90d, default 30d) and ``tz`` (an IANA name, default UTC), checked
    (``400 VALIDATION_ERROR`` naming the parameter otherwise; the time zone is checked first)."""
    zone_name = _zone_name(tz)
    return DashboardQuery(number_id=number_id, period=_period(period), zone_name=zone_name)


def _period(value: str | None) -> str:
    if value is None or value == "":
        return DEFAULT_PERIOD
    if value not in PERIODS:
        raise errors.ValidationFailed(
            "period must be one of 7d, 30d, 90d",
            details=[{"field": "period", "message": "must be one of 7d, 30d, 90d"}],
        )
    return value


def _zone_name(name: str | None) -> str:
    if name is None or name == "":
        return DEFAULT_ZONE
    if not known_zone(name):
        raise errors.ValidationFailed(
            f"Unknown time zone: {name[:64]}",
            details=[{"field": "tz", "message": "must be an IANA time zone name, e.g. Europe/Lisbon"}],
        )
    return name


def dashboard(figures: Figures) -> dict[str, Any]:
    """The figures' JSON (documented by ``web.schemas.analytics.DashboardStats``)."""
    return {
        "totalSent": figures.total_sent,
        "totalFailed": figures.total_failed,
        "sentPercentChange": figures.sent_percent_change,
        "failedPercentChange": figures.failed_percent_change,
        "failureRate": figures.failure_rate,
        "previousTotalSent": figures.previous_sent,
        "previousTotalFailed": figures.previous_failed,
        "dailyMessages": _days(figures.daily_messages),
        "statusDistribution": {c.status.lower(): c.count for c in figures.status_distribution},
        "dailySent": _days(figures.daily_sent),
        "dailyFailed": _days(figures.daily_failed),
        "deliveryLatencyMs": {"p50": figures.latency.p50, "p95": figures.latency.p95},
        "period": figures.period,
        "timezone": figures.zone_name,
        "from": iso(figures.start),
        "to": iso(figures.now),
    }


def _days(days: tuple[DayCount, ...]) -> list[dict[str, Any]]:
    return [{"date": d.day.isoformat(), "count": d.count} for d in days]

"""Reports: GET /analytics/daily and /analytics/weekly (admins only), as JSON or CSV.

The figures come from :mod:`webapp.reports.services`; ``?format=csv`` answers the
rows the report pages download (:mod:`webapp.reports.csv_export`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify

from webapp.api.blueprint import allow, api_blueprint
from webapp.api.schemas.analytics import DailyOut, DailyQuery, WeeklyOut, WeeklyQuery
from webapp.reports.aggregates import Metrics, targets_by_priority
from webapp.reports.csv_export import report_csv, report_filename
from webapp.reports.services import (
    Report,
    daily_report,
    iso_week,
    parse_day,
    parse_week,
    weekly_report,
)

bp = api_blueprint(
    "analytics", "/analytics", "Reports: a day's or an ISO week's figures (admins), JSON or CSV"
)

CSV_NOTE = (
    " With `?format=csv` the answer is `text/csv` (an attachment): a header, one row per "
    "department and a totals row, `arrivals_by_hour` as columns `arrivals_00`..`arrivals_23` "
    'and `served_by_clinician` as one column `"Name: N; Name: N"`; empty cells where JSON '
    "has null."
)


def metrics_json(metrics: Metrics) -> dict[str, Any]:
    """API.md's metrics (the pages' extra share of patients called within estimate is left out)."""
    return {
        "tickets_issued": metrics.tickets_issued,
        "walk_ins": metrics.walk_ins,
        "appointments": metrics.appointments,
        "served": metrics.served,
        "no_shows": metrics.no_shows,
        "cancelled": metrics.cancelled,
        "transferred": metrics.transferred,
        "mean_wait_minutes": metrics.mean_wait_minutes,
        "median_wait_minutes": metrics.median_wait_minutes,
        "p90_wait_minutes": metrics.p90_wait_minutes,
        "mean_service_minutes": metrics.mean_service_minutes,
        "arrivals_by_hour": list(metrics.arrivals_by_hour),
        "served_by_clinician": [dict(entry) for entry in metrics.served_by_clinician],
        "estimate_mean_abs_error_minutes": metrics.estimate_mean_abs_error_minutes,
        "called_within_target": targets_by_priority(metrics.called_within_target),
    }


def _departments_json(report: Report) -> list[dict[str, Any]]:
    return [
        {**metrics_json(row.metrics), "department_id": row.department_id}
        for row in report.departments
    ]


def _csv_response(report: Report, *, weekly: bool, department_id: int | None) -> Response:
    filename = report_filename(report, weekly=weekly, department_id=department_id)
    return Response(
        report_csv(report, weekly=weekly),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _day(value: date) -> str:
    return value.isoformat()


@bp.get(
    "/daily",
    summary="A day's figures per department and for all of them",
    description="Admins only (403 for other roles). "
    "`date` is a day in HOSPITAL_TIMEZONE (today by default; a bad date is 422); "
    "`department_id` keeps one department (an unknown one is 422). Past days come from the "
    "stored aggregates, today is computed live." + CSV_NOTE,
    responses={200: DailyOut},
)
@allow(bp, "admin")
def daily(query: DailyQuery) -> Response:
    day = parse_day(query.day)
    report = daily_report(day, query.department_id)
    if query.format == "csv":
        return _csv_response(report, weekly=False, department_id=query.department_id)
    return jsonify(
        date=_day(day), departments=_departments_json(report), totals=metrics_json(report.totals)
    )


@bp.get(
    "/weekly",
    summary="An ISO week's figures per department, for all of them, and per day",
    description="Admins only (403 for other roles). "
    "`week` is an ISO week `YYYY-Www` (this week by default; a bad or impossible "
    "week is 422), Monday to Sunday in HOSPITAL_TIMEZONE; `department_id` keeps one "
    "department (an unknown one is 422), and then `days` are that department's. Medians "
    "and percentiles are over the week's waits, not averages of daily ones."
    + CSV_NOTE
    + " Weekly CSV adds one row per day.",
    responses={200: WeeklyOut},
)
@allow(bp, "admin")
def weekly(query: WeeklyQuery) -> Response:
    monday = parse_week(query.week)
    report = weekly_report(monday, query.department_id)
    if query.format == "csv":
        return _csv_response(report, weekly=True, department_id=query.department_id)
    return jsonify(
        week=iso_week(monday),
        start=_day(report.first_day),
        end=_day(report.last_day),
        departments=_departments_json(report),
        totals=metrics_json(report.totals),
        days=[{"date": _day(day), **metrics_json(metrics)} for day, metrics in report.days],
    )

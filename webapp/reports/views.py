"""The report pages (/reports/daily, /reports/weekly), for administrators only.

The views parse the pickers, ask webapp.reports.services for the figures and render them;
a bad day, week or department is a field error on the page (422), never a server error.
The charts read their data from a JSON script tag (the CSP allows no inline script).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request

from webapp.auth.permissions import role_required
from webapp.domain_errors import ValidationFailed
from webapp.reports import services
from webapp.reports.aggregates import Metrics
from webapp.reports.forms import DailyReportForm, WeeklyReportForm, ReportForm

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every report page is for administrators only."""


def headline(metrics: Metrics) -> dict[str, Any]:
    """The row of headline numbers: served, median and p90 wait, no-show rate, estimate error."""
    finished = metrics.served + metrics.no_shows
    return {
        "served": metrics.served,
        "median_wait": metrics.median_wait_minutes,
        "p90_wait": metrics.p90_wait_minutes,
        # No-shows among the patients whose visit ended in being seen or not turning up.
        "no_show_rate": metrics.no_shows / finished if finished else None,
        "estimate_error": metrics.estimate_mean_abs_error_minutes,
        "within_estimate": metrics.called_within_estimate_share,
    }


def chart_data(report: services.Report) -> dict[str, Any]:
    """What static/js/reports.js draws: arrivals per hour and served per clinician."""
    totals = report.totals
    clinicians = totals.served_by_clinician
    data: dict[str, Any] = {
        "arrivals": {
            "labels": [f"{hour:02d}" for hour in range(24)],
            "values": totals.arrivals_by_hour,
        },
        "clinicians": {
            "labels": [row["name"] or f"#{row['clinician_id']}" for row in clinicians],
            "values": [row["served"] for row in clinicians],
        },
    }
    if report.days:
        data["days"] = {
            "labels": [day.strftime("%a %d") for day, _m in report.days],
            "values": [m.served for _day, m in report.days],
        }
    return data


def _apply(form: ReportForm, error: ValidationFailed, field_for: dict[str, str]) -> None:
    """Put the service's errors on the form's fields, so the page shows them where typed."""
    for key, message in error.errors.items():
        getattr(form, field_for.get(key, key)).errors = [message]


def _render(template: str, form: ReportForm, **context: Any) -> tuple[str, int]:
    report = context.get("report")
    if report is None:
        return render_template(template, form=form, **context), 422
    return (
        render_template(
            template,
            form=form,
            headline=headline(report.totals),
            charts=chart_data(report),
            **context,
        ),
        200,
    )


@bp.route("/daily")
def daily() -> tuple[str, int]:
    form = DailyReportForm(request.args)
    report: services.Report | None = None
    day: date | None = None
    if form.validate():
        try:
            day = services.parse_day(form.date.data)
            report = services.daily_report(day, form.department())
        except ValidationFailed as error:
            _apply(form, error, {})
    return _render("reports/daily.html", form, report=report, day=day)


@bp.route("/weekly")
def weekly() -> tuple[str, int]:
    form = WeeklyReportForm(request.args)
    report: services.Report | None = None
    week: str | None = None
    if form.validate():
        try:
            monday = services.parse_week(form.week.data)
            week = services.iso_week(monday)
            report = services.weekly_report(monday, form.department())
        except ValidationFailed as error:
            _apply(form, error, {})
    return _render("reports/weekly.html", form, report=report, week=week)

"""The report pages (/reports/daily, /reports/weekly), for administrators only.

The views parse the pickers, ask webapp.reports.services for the figures and render them;
a bad day, week or department is a field error on the page (422), never a server error.
The charts read their data from a JSON script tag (the CSP allows no inline script).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from webapp.auth.permissions import role_required
from webapp.domain_errors import ValidationFailed
from webapp.queue.rules import PRIORITY_LABELS
from webapp.reports import csv_export, services
from webapp.reports.aggregates import Metrics, clinician_label, no_show_rate
from webapp.reports.forms import DailyReportForm, ReportForm, WeeklyReportForm

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every report page is for administrators only."""


def headline(metrics: Metrics) -> dict[str, Any]:
    """The row of headline numbers: served, median and p90 wait, no-show rate, estimate error,
    called within target (all priorities)."""
    return {
        "within_target": metrics.called_within_target_share,
        "called": sum(figure.called for figure in metrics.called_within_target),
        "served": metrics.served,
        "median_wait": metrics.median_wait_minutes,
        "p90_wait": metrics.p90_wait_minutes,
        "no_show_rate": no_show_rate(metrics),
        "estimate_error": metrics.estimate_mean_abs_error_minutes,
        "within_estimate": metrics.called_within_estimate_share,
    }


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def chart_data(report: services.Report, heatmap: services.ArrivalsHeatmap) -> dict[str, Any]:
    """What static/js/reports.js draws: arrivals against served per hour, the wait
    distribution, served per clinician, served per day (weeks) and the arrivals heat map."""
    totals = report.totals
    clinicians = totals.served_by_clinician
    data: dict[str, Any] = {
        "hours": {
            "labels": [f"{hour:02d}" for hour in range(24)],
            "arrivals": totals.arrivals_by_hour,
            "served": totals.served_by_hour,
        },
        "waits": {
            "labels": [label for label, _count in totals.wait_distribution],
            "values": [count for _label, count in totals.wait_distribution],
        },
        "heatmap": {
            "weekdays": list(WEEKDAYS),
            "counts": heatmap.counts,
            "peak": heatmap.peak,
        },
        "clinicians": {
            "labels": [clinician_label(row) for row in clinicians],
            "values": [row["served"] for row in clinicians],
        },
    }
    if report.days:
        data["days"] = {
            "labels": [day.strftime("%a %d") for day, _m in report.days],
            "values": [m.served for _day, m in report.days],
        }
    return data


def _apply(form: ReportForm, error: ValidationFailed) -> None:
    """Put the service's errors on the form's fields (named alike), so the page shows them
    where they were typed."""
    for key, message in error.errors.items():
        getattr(form, key).errors = [message]


def _render(template: str, form: ReportForm, **context: Any) -> tuple[str, int]:
    report = context.get("report")
    if report is None:
        return render_template(template, form=form, **context), 422
    # The pickers were valid, or there would be no report.
    department_id = form.department()
    heatmap = services.arrivals_heatmap(report.last_day, department_id)
    return (
        render_template(
            template,
            form=form,
            headline=headline(report.totals),
            targets=services.targets_table(report),
            priority_labels=PRIORITY_LABELS,
            charts=chart_data(report, heatmap),
            heatmap=heatmap,
            weekdays=WEEKDAYS,
            # Links to the other report of the same days keep the department chosen.
            department_args={} if department_id is None else {"department_id": department_id},
            week_of_report=services.iso_week(
                report.first_day - timedelta(report.first_day.weekday())
            ),
            **context,
        ),
        200,
    )


def _daily(form: DailyReportForm) -> tuple[services.Report | None, date | None]:
    """The day's report, or None with the errors on the form's fields (all of them at once)."""
    department_ok = form.validate()
    try:
        day = services.parse_day(form.date.data)
        if department_ok:
            return services.daily_report(day, form.department()), day
    except ValidationFailed as error:
        _apply(form, error)
    return None, None


def _weekly(form: WeeklyReportForm) -> tuple[services.Report | None, date | None]:
    department_ok = form.validate()
    try:
        monday = services.parse_week(form.week.data)
        if department_ok:
            return services.weekly_report(monday, form.department()), monday
    except ValidationFailed as error:
        _apply(form, error)
    return None, None


@bp.route("/daily")
def daily() -> tuple[str, int]:
    form = DailyReportForm(request.args)
    report, day = _daily(form)
    if day is not None and not form.date.data:
        form.date.data = day.isoformat()  # the picker shows the day it defaulted to
    return _render(
        "reports/daily.html",
        form,
        report=report,
        day=day,
        csv_args=form.query_args(),
    )


@bp.route("/weekly")
def weekly() -> tuple[str, int]:
    form = WeeklyReportForm(request.args)
    report, monday = _weekly(form)
    week = services.iso_week(monday) if monday else None
    if week is not None and not form.week.data:
        form.week.data = week  # the picker shows the week it defaulted to
    return _render(
        "reports/weekly.html",
        form,
        report=report,
        week=week,
        csv_args=form.query_args(),
    )


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _requested_table() -> str:
    """The ``table`` a CSV link asks for: ``summary`` (the default) or one of csv_export.TABLES;
    anything else is a 404 (no such table), before any figure is computed."""
    table = request.args.get("table") or "summary"
    if table != "summary" and table not in csv_export.TABLES:
        abort(404)
    return table


def _table_csv(report: services.Report, form: ReportForm, table: str, *, weekly: bool) -> Response:
    department_id = form.department()
    if table == "summary":
        text = csv_export.report_csv(report, weekly=weekly)
    else:
        heatmap = services.arrivals_heatmap(report.last_day, department_id)
        text = csv_export.to_csv(csv_export.TABLES[table](report, heatmap))
    filename = csv_export.report_filename(
        report, weekly=weekly, department_id=department_id, table=table
    )
    return _csv(text, filename)


@bp.route("/daily.csv")
def daily_csv() -> Response | tuple[str, int]:
    """One of the daily page's tables as CSV (``?table=``, the summary by default);
    bad pickers show the page with their errors."""
    table = _requested_table()
    form = DailyReportForm(request.args)
    report, _day = _daily(form)
    if report is None:
        return _render("reports/daily.html", form, report=None, day=None, csv_args={})
    return _table_csv(report, form, table, weekly=False)


@bp.route("/weekly.csv")
def weekly_csv() -> Response | tuple[str, int]:
    table = _requested_table()
    form = WeeklyReportForm(request.args)
    report, _monday = _weekly(form)
    if report is None:
        return _render("reports/weekly.html", form, report=None, week=None, csv_args={})
    return _table_csv(report, form, table, weekly=True)

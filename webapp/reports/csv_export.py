"""A report as CSV: the rows the API's ``?format=csv`` and the report pages download.

The summary (the API's CSV and the pages' first table): one row per department, a totals
row and, for a week, one row per day. The columns are the API's metrics (API.md) with
``arrivals_by_hour`` spread over 24 columns ``arrivals_00``..``arrivals_23`` and
``served_by_clinician`` as one text column ``"Name: N; Name: N"``, so a spreadsheet opens
it without parsing JSON.

The pages' other tables download alike, each as its own CSV (``TABLES``): per hour, the
wait distribution, served per clinician, the weekday × hour arrivals heat map and called
within target per priority.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from webapp.reports.aggregates import HOURS, Metrics, clinician_label
from webapp.reports.services import ArrivalsHeatmap, Report, iso_week, targets_table

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The metrics of API.md, in its order, that are one value each.
SCALAR_METRICS = (
    "tickets_issued",
    "walk_ins",
    "appointments",
    "served",
    "no_shows",
    "cancelled",
    "transferred",
    "mean_wait_minutes",
    "median_wait_minutes",
    "p90_wait_minutes",
    "mean_service_minutes",
    "estimate_mean_abs_error_minutes",
)
ARRIVAL_COLUMNS = tuple(f"arrivals_{hour:02d}" for hour in range(HOURS))
HEADER = (
    "row",
    "period",
    "department_id",
    "department",
    *SCALAR_METRICS,
    *ARRIVAL_COLUMNS,
    "served_by_clinician",
)
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A text cell a spreadsheet shows as text, never runs (names are typed by people)."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _number(value: float | int | None) -> str:
    if value is None:
        return ""  # no data, as null in the JSON
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 20, not 20.0
    return str(value)


def served_by_clinician_text(metrics: Metrics) -> str:
    """``"Alice Adams: 2; Bob Brown: 1"`` (a clinician without a name shows as ``#id``)."""
    return "; ".join(
        f"{clinician_label(entry)}: {entry['served']}" for entry in metrics.served_by_clinician
    )


def metrics_row(
    kind: str, period: str, department_id: int | None, department: str, metrics: Metrics
) -> list[str]:
    """One CSV row (as text cells, in ``HEADER`` order)."""
    return [
        kind,
        period,
        "" if department_id is None else str(department_id),
        _text(department),
        *(_number(getattr(metrics, name)) for name in SCALAR_METRICS),
        *(str(count) for count in metrics.arrivals_by_hour),
        _text(served_by_clinician_text(metrics)),
    ]


def report_rows(report: Report, *, weekly: bool = False) -> list[list[str]]:
    """The header and the rows of a day's (``weekly=False``) or an ISO week's report:
    each department, then ``total`` (all departments shown), then for a week each day."""
    period = iso_week(report.first_day) if weekly else report.first_day.isoformat()
    rows: list[list[str]] = [list(HEADER)]
    rows.extend(
        metrics_row("department", period, row.department_id, row.name, row.metrics)
        for row in report.departments
    )
    rows.append(metrics_row("total", period, None, "All departments", report.totals))
    if weekly:
        rows.extend(
            metrics_row("day", day.isoformat(), None, "All departments", metrics)
            for day, metrics in report.days
        )
    return rows


def to_csv(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def report_csv(report: Report, *, weekly: bool = False) -> str:
    """The report as CSV text (RFC 4180: CRLF line ends)."""
    return to_csv(report_rows(report, weekly=weekly))


def report_filename(
    report: Report,
    *,
    weekly: bool = False,
    department_id: int | None = None,
    table: str = "summary",
) -> str:
    """``report-2026-03-10.csv``, ``report-2026-W11.csv``; ``-department-3`` when filtered;
    ``-hours`` (and so on) for a table other than the summary."""
    period = iso_week(report.first_day) if weekly else report.first_day.isoformat()
    suffix = f"-department-{department_id}" if department_id is not None else ""
    kind = "" if table == "summary" else f"-{table}"
    return f"report-{period}{suffix}{kind}.csv"


# --- The pages' other tables ---------------------------------------------------------------


def hours_rows(report: Report, _heatmap: ArrivalsHeatmap) -> list[list[str]]:
    """Arrivals and served per hour of the hospital's day, all shown departments."""
    totals = report.totals
    return [["hour", "arrivals", "served"]] + [
        [f"{hour:02d}", str(totals.arrivals_by_hour[hour]), str(totals.served_by_hour[hour])]
        for hour in range(HOURS)
    ]


def waits_rows(report: Report, _heatmap: ArrivalsHeatmap) -> list[list[str]]:
    """Patients per wait band (checked in → first called)."""
    return [["wait", "patients"]] + [
        [band, str(count)] for band, count in report.totals.wait_distribution
    ]


def clinicians_rows(report: Report, _heatmap: ArrivalsHeatmap) -> list[list[str]]:
    """Patients served per clinician, most first."""
    return [["clinician_id", "clinician", "served"]] + [
        [str(entry["clinician_id"]), _text(clinician_label(entry)), str(entry["served"])]
        for entry in report.totals.served_by_clinician
    ]


def heatmap_rows(_report: Report, heatmap: ArrivalsHeatmap) -> list[list[str]]:
    """Arrivals by weekday and hour over the heat map's four weeks (each cell sums four days)."""
    period = f"{heatmap.first_day.isoformat()}/{heatmap.last_day.isoformat()}"
    return [["weekday", "period", *(f"arrivals_{hour:02d}" for hour in range(HOURS))]] + [
        [name, period, *(str(count) for count in counts)]
        for name, counts in zip(WEEKDAY_NAMES, heatmap.counts, strict=True)
    ]


def targets_rows(report: Report, _heatmap: ArrivalsHeatmap) -> list[list[str]]:
    """Called within target per priority, as the page's table: all the shown departments
    (when several), then each department. ``target_minutes`` is "varies" where the merged
    departments or days had different targets; ``share_percent`` is rounded as on the page."""
    header = [
        "department_id",
        "department",
        "priority",
        "target_minutes",
        "called",
        "within_target",
        "share_percent",
    ]
    return [header] + [
        [
            "" if row.department_id is None else str(row.department_id),
            _text(row.department),
            row.figure.priority,
            "varies" if row.figure.target_varies else _number(row.figure.target_minutes),
            str(row.figure.called),
            str(row.figure.within_target),
            _number(percent(row.figure.share)),
        ]
        for row in targets_table(report)
    ]


def percent(share: float | None) -> int | None:
    """A share (0..1) as a whole percentage, as the pages show it (None stays None)."""
    return None if share is None else round(share * 100)


TableRows = Callable[[Report, ArrivalsHeatmap], list[list[str]]]
# The pages' tables other than the summary, by the name their download link gives.
TABLES: dict[str, TableRows] = {
    "hours": hours_rows,
    "waits": waits_rows,
    "clinicians": clinicians_rows,
    "heatmap": heatmap_rows,
    "targets": targets_rows,
}

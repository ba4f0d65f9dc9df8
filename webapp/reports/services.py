"""The reports: a day's or an ISO week's figures per department and for all of them.

Figures come from additive per-department, per-day aggregates
(:mod:`webapp.reports.aggregates`). Past days read the aggregates the
``aggregate_metrics`` task stored in DailyMetric; today (and any past day not
stored yet) is computed live. Weeks and the all-departments totals merge the
days' aggregates, so a week's median is the median of the week's waits, not an
average of daily medians.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select

from webapp import clock
from webapp.database import utcnow
from webapp.departments.models import Department
from webapp.domain_errors import ValidationFailed
from webapp.extensions import db
from webapp.reports.aggregates import (
    AGGREGATE_VERSION,
    HOURS,
    PRIORITY_ORDER,
    DayAggregate,
    Metrics,
    TargetFigure,
    clinician_names,
    day_aggregates,
    merge_all,
    metrics_from,
)
from webapp.reports.models import DailyMetric

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


# ------------------------------------------------------------------ storage


def aggregate_to_json(aggregate: DayAggregate) -> dict[str, Any]:
    data = asdict(aggregate)
    data["served_by_clinician"] = {str(k): v for k, v in aggregate.served_by_clinician.items()}
    data["version"] = AGGREGATE_VERSION
    return data


def is_current(data: dict[str, Any] | None) -> bool:
    """Whether a stored aggregate has every field of today's DayAggregate."""
    return bool(data) and (data or {}).get("version") == AGGREGATE_VERSION


def aggregate_from_json(data: dict[str, Any]) -> DayAggregate:
    known = {field.name for field in fields(DayAggregate)}
    values = {name: value for name, value in data.items() if name in known}
    values["served_by_clinician"] = {
        int(k): int(v) for k, v in (data.get("served_by_clinician") or {}).items()
    }
    return DayAggregate(**values)


def stored_targets(data: dict[str, Any] | None) -> dict[str, int] | None:
    """The service targets a stored aggregate was judged against (None if it has none)."""
    targets = (data or {}).get("wait_targets") or {}
    if not all(isinstance(targets.get(priority), int) for priority in PRIORITY_ORDER):
        return None
    return {priority: int(targets[priority]) for priority in PRIORITY_ORDER}


def _kept_targets(first_day: date, last_day: date) -> dict[tuple[int, date], dict[str, int]]:
    """The targets of the past days already stored in the range: computed again, a past day
    keeps the targets it was stored with (its own day's, when the task stored it on the day),
    so editing a target never rewrites a finished day. Today is always judged live."""
    last_past = min(last_day, clock.today() - timedelta(days=1))
    if last_past < first_day:
        return {}
    rows = db.session.execute(
        select(DailyMetric.department_id, DailyMetric.service_day, DailyMetric.aggregate).where(
            DailyMetric.service_day >= first_day, DailyMetric.service_day <= last_past
        )
    )
    kept = {}
    for department_id, day, data in rows:
        targets = stored_targets(data)
        if targets is not None:
            kept[(department_id, day)] = targets
    return kept


def store_day_metrics(first_day: date, last_day: date) -> int:
    """Compute and store every department's figures for the days from ``first_day`` to
    ``last_day`` (inclusive); running it again gives the same rows. Returns the rows written.

    Every active department gets a row for every day, with data or without, so a stored
    day is told apart from one not aggregated yet. A past day stored before keeps the
    service targets it was judged against (``_kept_targets``).
    """
    aggregates = day_aggregates(
        first_day, last_day, kept_targets=_kept_targets(first_day, last_day)
    )
    names = clinician_names(aggregates.values())
    departments = set(db.session.scalars(select(Department.id).where(Department.active)))
    departments |= {department_id for department_id, _day in aggregates}
    db.session.execute(
        delete(DailyMetric).where(
            DailyMetric.service_day >= first_day, DailyMetric.service_day <= last_day
        )
    )
    now = utcnow()
    written = 0
    day = first_day
    while day <= last_day:
        for department_id in sorted(departments):
            aggregate = aggregates.get((department_id, day), DayAggregate())
            figures = metrics_from(aggregate, names)
            db.session.add(
                DailyMetric(
                    department_id=department_id,
                    service_day=day,
                    tickets_issued=figures.tickets_issued,
                    walk_ins=figures.walk_ins,
                    appointments=figures.appointments,
                    served=figures.served,
                    no_shows=figures.no_shows,
                    cancelled=figures.cancelled,
                    transferred=figures.transferred,
                    mean_wait_minutes=figures.mean_wait_minutes,
                    median_wait_minutes=figures.median_wait_minutes,
                    p90_wait_minutes=figures.p90_wait_minutes,
                    mean_service_minutes=figures.mean_service_minutes,
                    mean_estimate_error_minutes=figures.estimate_mean_abs_error_minutes,
                    arrivals_by_hour={
                        f"{hour:02d}": n for hour, n in enumerate(aggregate.arrivals_by_hour)
                    },
                    served_by_clinician=aggregate_to_json(aggregate)["served_by_clinician"],
                    aggregate=aggregate_to_json(aggregate),
                    computed_at=now,
                )
            )
            written += 1
        day += timedelta(days=1)
    db.session.flush()
    return written


def aggregates_between(
    first_day: date, last_day: date, department_id: int | None = None
) -> dict[tuple[int, date], DayAggregate]:
    """Each department's aggregate per day: stored for past days, live for today and for
    past days not stored yet (or stored by an older version, lacking a newer figure)."""
    today = clock.today()
    result: dict[tuple[int, date], DayAggregate] = {}
    stored_days: set[date] = set()
    if first_day < today:
        query = select(DailyMetric).where(
            DailyMetric.service_day >= first_day,
            DailyMetric.service_day <= min(last_day, today - timedelta(days=1)),
            DailyMetric.aggregate.is_not(None),
        )
        if department_id is not None:
            query = query.where(DailyMetric.department_id == department_id)
        stale_days: set[date] = set()
        for row in db.session.scalars(query):
            if not is_current(row.aggregate):
                stale_days.add(row.service_day)
                continue
            stored_days.add(row.service_day)
            result[(row.department_id, row.service_day)] = aggregate_from_json(row.aggregate or {})
        # A day is read from storage only when all of its rows are current.
        stored_days -= stale_days
        result = {key: value for key, value in result.items() if key[1] in stored_days}
    missing = [
        first_day + timedelta(days=n)
        for n in range((last_day - first_day).days + 1)
        if first_day + timedelta(days=n) not in stored_days
    ]
    if missing:
        live = day_aggregates(min(missing), max(missing), department_id)
        result.update({key: value for key, value in live.items() if key[1] in missing})
    return result


# ------------------------------------------------------------------ reports


@dataclass(frozen=True)
class DepartmentFigures:
    department_id: int
    code: str
    name: str
    metrics: Metrics


@dataclass(frozen=True)
class Report:
    """A day's or a week's figures: per department, for all, and (weeks) per day."""

    first_day: date
    last_day: date
    departments: list[DepartmentFigures]
    totals: Metrics
    days: list[tuple[date, Metrics]]


@dataclass(frozen=True)
class TargetRow:
    """A row of the pages' "Called within target" table (and its CSV)."""

    department_id: int | None  # None: all the shown departments together
    department: str
    figure: TargetFigure


ALL_SHOWN = "All shown departments"


def targets_table(report: Report) -> list[TargetRow]:
    """Called within target per priority: for all the shown departments first (when there
    are several), then for each department, whose own target is shown beside its figures."""
    rows: list[TargetRow] = []
    if len(report.departments) != 1:
        rows.extend(
            TargetRow(None, ALL_SHOWN, figure) for figure in report.totals.called_within_target
        )
    for department in report.departments:
        rows.extend(
            TargetRow(department.department_id, department.name, figure)
            for figure in department.metrics.called_within_target
        )
    return rows


def parse_day(text: str | None) -> date:
    """A ``YYYY-MM-DD`` day (default: today, hospital time)."""
    if text is None or not text.strip():
        return clock.today()
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed({"date": "Give a date as YYYY-MM-DD."}) from None
    if not clock.in_day_range(day):
        raise ValidationFailed({"date": clock.DAY_RANGE_MESSAGE})
    return day


def parse_week(text: str | None) -> date:
    """The Monday of an ISO week ``YYYY-Www`` (default: this week, hospital time)."""
    if text is None or not text.strip():
        today = clock.today()
        return today - timedelta(days=today.weekday())
    match = WEEK_PATTERN.match(text.strip())
    if match is None:
        raise ValidationFailed({"week": "Give an ISO week as YYYY-Www, e.g. 2026-W49."})
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValidationFailed({"week": "That year has no such week."}) from None
    if not (clock.in_day_range(monday) and clock.in_day_range(monday + timedelta(days=6))):
        raise ValidationFailed({"week": clock.DAY_RANGE_MESSAGE})
    return monday


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def build_report(
    first_day: date, last_day: date, department_id: int | None = None, *, per_day: bool = False
) -> Report:
    """The figures of the days from ``first_day`` to ``last_day`` (inclusive)."""
    aggregates = aggregates_between(first_day, last_day, department_id)
    names = clinician_names(aggregates.values())
    query = select(Department).order_by(Department.name)
    if department_id is not None:
        query = query.where(Department.id == department_id)
    departments = [
        department
        for department in db.session.scalars(query)
        if department.active or any(key[0] == department.id for key in aggregates)
    ]
    if department_id is not None and not departments:
        raise ValidationFailed({"department_id": "No department has this id."})
    rows = [
        DepartmentFigures(
            department.id,
            department.code,
            department.name,
            metrics_from(
                merge_all(a for (d, _day), a in aggregates.items() if d == department.id), names
            ),
        )
        for department in departments
    ]
    days: list[tuple[date, Metrics]] = []
    if per_day:
        day = first_day
        while day <= last_day:
            days.append(
                (
                    day,
                    metrics_from(
                        merge_all(a for (_d, k), a in aggregates.items() if k == day), names
                    ),
                )
            )
            day += timedelta(days=1)
    return Report(
        first_day=first_day,
        last_day=last_day,
        departments=rows,
        totals=metrics_from(merge_all(aggregates.values()), names),
        days=days,
    )


def daily_report(day: date, department_id: int | None = None) -> Report:
    return build_report(day, day, department_id)


def weekly_report(monday: date, department_id: int | None = None) -> Report:
    return build_report(monday, monday + timedelta(days=6), department_id, per_day=True)


# ------------------------------------------------------------------ heat map

HEATMAP_DAYS = 28


@dataclass(frozen=True)
class ArrivalsHeatmap:
    """Arrivals by weekday (Monday first) and hour over the four weeks ending ``last_day``:
    ``counts[weekday][hour]`` sums the four such weekdays."""

    first_day: date
    last_day: date
    counts: list[list[int]]

    @property
    def peak(self) -> int:
        return max((max(row) for row in self.counts), default=0)


def arrivals_heatmap(last_day: date, department_id: int | None = None) -> ArrivalsHeatmap:
    """The weekday × hour arrivals of the 28 days ending ``last_day`` (never after today)."""
    last_day = min(last_day, clock.today())
    first_day = last_day - timedelta(days=HEATMAP_DAYS - 1)
    counts = [[0] * HOURS for _ in range(7)]
    for (_department, day), aggregate in aggregates_between(
        first_day, last_day, department_id
    ).items():
        row = counts[day.weekday()]
        for hour, arrivals in enumerate(aggregate.arrivals_by_hour):
            row[hour] += arrivals
    return ArrivalsHeatmap(first_day=first_day, last_day=last_day, counts=counts)

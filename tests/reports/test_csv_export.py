"""A report as CSV rows (webapp/reports/csv_export.py): the API's and the pages' download."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Flask

from tests.factories import DepartmentFactory, UserFactory
from tests.reports.test_aggregates import DAY, at, build_fixture_day, make_ticket
from webapp.extensions import db
from webapp.reports.aggregates import DayAggregate, Metrics, metrics_from
from webapp.reports.csv_export import (
    ARRIVAL_COLUMNS,
    HEADER,
    SCALAR_METRICS,
    report_csv,
    report_filename,
    report_rows,
    served_by_clinician_text,
)
from webapp.reports.services import daily_report, weekly_report

MONDAY = DAY - timedelta(days=DAY.weekday())  # 2026-03-09, ISO week 2026-W11


def by_column(row: list[str]) -> dict[str, str]:
    return dict(zip(HEADER, row, strict=True))


def test_it_writes_a_header_each_department_and_a_totals_row_with_the_hand_figures(
    app: Flask,
) -> None:
    department, _alice, _bob = build_fixture_day()
    report = daily_report(DAY)

    rows = report_rows(report)

    assert rows[0] == list(HEADER)
    assert HEADER[4:] == (*SCALAR_METRICS, *ARRIVAL_COLUMNS, "served_by_clinician")
    assert [row[0] for row in rows[1:]] == ["department"] * len(report.departments) + ["total"]
    mine = next(by_column(row) for row in rows[1:] if row[2] == str(department.id))
    assert mine["period"] == "2026-03-10"
    assert mine["department"] == department.name
    assert [mine[name] for name in SCALAR_METRICS] == [
        "6", "4", "2", "3", "1", "1", "1", "22.1", "20", "45", "10", "6",
    ]  # fmt: skip
    assert [mine[column] for column in ARRIVAL_COLUMNS] == [
        "2" if hour in (8, 9, 10) else "0" for hour in range(24)
    ]
    assert mine["served_by_clinician"] == "Alice Adams: 2; Bob Brown: 1"
    total = by_column(rows[-1])
    assert (total["period"], total["department_id"], total["department"]) == (
        "2026-03-10",
        "",
        "All departments",
    )
    assert total["tickets_issued"] == "7"  # the other department's cancelled ticket too
    assert total["cancelled"] == "2"


def test_it_leaves_a_figure_without_data_empty(app: Flask) -> None:
    department = DepartmentFactory()
    make_ticket(department, at(8, 0), "waiting")
    db.session.commit()

    row = by_column(report_rows(daily_report(DAY, department.id))[1])

    assert row["tickets_issued"] == "1"
    for name in SCALAR_METRICS[7:]:
        assert row[name] == "", name
    assert row["served_by_clinician"] == ""


def test_it_adds_a_row_per_day_to_a_week(app: Flask) -> None:
    department, _alice, _bob = build_fixture_day()

    rows = report_rows(weekly_report(MONDAY, department.id), weekly=True)

    assert [(row[0], row[1]) for row in rows[1:]] == [
        ("department", "2026-W11"),
        ("total", "2026-W11"),
        *(("day", (MONDAY + timedelta(days=n)).isoformat()) for n in range(7)),
    ]
    days = {row[1]: by_column(row) for row in rows if row[0] == "day"}
    assert days["2026-03-10"]["served"] == "3"
    assert days["2026-03-09"]["tickets_issued"] == "1"  # the fixture's day-before ticket
    assert days["2026-03-11"]["tickets_issued"] == "0"
    assert days["2026-03-11"]["median_wait_minutes"] == ""


def test_it_never_lets_a_spreadsheet_run_a_name_as_a_formula(app: Flask) -> None:
    department = DepartmentFactory(name="=HYPERLINK(1)")
    mallory = UserFactory(role="clinician", full_name="+Mallory")
    make_ticket(
        department,
        at(8, 0),
        "completed",
        calls=[("call", at(8, 5))],
        started_at=at(8, 6),
        ended_at=at(8, 10),
        clinician=mallory,
    )
    db.session.commit()

    row = by_column(report_rows(daily_report(DAY, department.id))[1])

    assert row["department"] == "'=HYPERLINK(1)"
    assert row["served_by_clinician"] == "'+Mallory: 1"


def test_it_names_a_clinician_without_a_name_by_id() -> None:
    metrics: Metrics = metrics_from(DayAggregate(served_by_clinician={7: 2, 9: 1}), {9: "Bea"})

    assert served_by_clinician_text(metrics) == "#7: 2; Bea: 1"


def test_it_writes_rfc_4180_text_that_reads_back_as_the_rows(app: Flask) -> None:
    build_fixture_day()
    report = daily_report(DAY)

    text = report_csv(report)

    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text))) == report_rows(report)


def test_it_names_the_file_after_the_period_and_department(app: Flask) -> None:
    department, _alice, _bob = build_fixture_day()

    assert report_filename(daily_report(DAY)) == "report-2026-03-10.csv"
    assert (
        report_filename(
            weekly_report(MONDAY, department.id), weekly=True, department_id=department.id
        )
        == f"report-2026-W11-department-{department.id}.csv"
    )

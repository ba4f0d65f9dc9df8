"""Reports: stored daily figures (DailyMetric), day and week reports, the task, the command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event, func, select

from tests.factories import DepartmentFactory
from tests.reports.test_aggregates import DAY, at, build_fixture_day, make_ticket
from webapp import clock
from webapp.domain_errors import ValidationFailed
from webapp.extensions import db
from webapp.reports.models import DailyMetric
from webapp.reports.services import (
    arrivals_heatmap,
    daily_report,
    iso_week,
    parse_day,
    parse_week,
    store_day_metrics,
    weekly_report,
)
from webapp.reports.tasks import aggregate_metrics


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def reads_tickets(statement: str) -> bool:
    return "FROM tickets" in statement or "JOIN tickets" in statement


def rows() -> list[tuple[int, date, int, float | None]]:
    db.session.expire_all()
    return [
        (row.department_id, row.service_day, row.served, row.median_wait_minutes)
        for row in db.session.scalars(
            select(DailyMetric).order_by(DailyMetric.department_id, DailyMetric.service_day)
        )
    ]


def test_it_stores_every_department_s_day_and_gives_the_same_rows_when_run_again(app: Flask):
    department, _alice, _bob = build_fixture_day()

    first = store_day_metrics(DAY, DAY)
    db.session.commit()
    stored = rows()
    second = store_day_metrics(DAY, DAY)
    db.session.commit()

    assert first == second == len(stored)
    assert rows() == stored
    assert (department.id, DAY, 3, 20.0) in stored
    assert db.session.scalar(select(func.count(DailyMetric.id))) == len(stored)


def test_it_reads_a_past_day_from_the_stored_figures_and_today_live(app: Flask):
    department_id = build_fixture_day()[0].id
    live = daily_report(DAY, department_id)
    store_day_metrics(DAY, DAY)
    db.session.commit()

    with statements() as past:
        stored = daily_report(DAY, department_id)
    with statements() as today:
        daily_report(date.today(), department_id)

    assert stored == live
    assert not any(reads_tickets(statement) for statement in past), past
    assert any(reads_tickets(statement) for statement in today)
    assert len(past) == 3  # the stored rows, the department, the clinicians' names


def test_it_computes_live_a_past_day_stored_by_an_older_version(app: Flask):
    department_id = build_fixture_day()[0].id
    store_day_metrics(DAY, DAY)
    db.session.commit()
    # As an earlier release stored it: no version and no served-per-hour figure.
    for row in db.session.scalars(select(DailyMetric)):
        row.aggregate = {k: v for k, v in (row.aggregate or {}).items() if k == "served"}
    db.session.commit()

    with statements() as seen:
        report = daily_report(DAY, department_id)

    assert any(reads_tickets(statement) for statement in seen)
    assert sum(report.totals.served_by_hour) == 3
    assert report.totals.median_wait_minutes == 20


def test_the_heat_map_adds_up_each_weekday_of_the_four_weeks_ending_the_day(app: Flask):
    department = DepartmentFactory()
    # Tuesdays DAY and DAY − 3 weeks at 08:xx, a Tuesday 4 weeks back (outside), a Monday.
    for day in (DAY, DAY - timedelta(weeks=3), DAY - timedelta(weeks=4)):
        make_ticket(department, at(8, 30, day=day), "cancelled")
    make_ticket(department, at(14, 0, day=DAY - timedelta(days=1)), "cancelled")
    make_ticket(DepartmentFactory(), at(8, 0), "cancelled")
    store_day_metrics(DAY - timedelta(days=10), DAY - timedelta(days=1))  # stored and live mixed
    db.session.commit()

    mine = arrivals_heatmap(DAY, department.id)
    everyone = arrivals_heatmap(DAY)

    assert (mine.first_day, mine.last_day) == (DAY - timedelta(days=27), DAY)
    assert mine.counts[1][8] == 2
    assert mine.counts[0][14] == 1
    assert sum(map(sum, mine.counts)) == 3
    assert mine.peak == 2
    assert everyone.counts[1][8] == 3
    assert arrivals_heatmap(date(2100, 1, 1)).last_day == clock.today()


def test_it_merges_the_days_of_a_week_and_the_departments_for_the_totals(app: Flask):
    department, _alice, _bob = build_fixture_day()
    other = DepartmentFactory()
    make_ticket(
        other,
        at(9, 0, day=DAY + timedelta(days=1)),
        "completed",
        calls=[("call", at(9, 40, day=DAY + timedelta(days=1)))],
        started_at=at(9, 41, day=DAY + timedelta(days=1)),
        ended_at=at(9, 50, day=DAY + timedelta(days=1)),
    )
    db.session.commit()
    store_day_metrics(DAY - timedelta(days=7), DAY + timedelta(days=7))
    db.session.commit()

    week = weekly_report(parse_week(iso_week(DAY)))

    assert week.first_day == DAY - timedelta(days=DAY.weekday())
    assert [day for day, _ in week.days] == [week.first_day + timedelta(days=n) for n in range(7)]
    by_id = {row.department_id: row.metrics for row in week.departments}
    assert by_id[department.id].served == 3 and by_id[other.id].served == 1
    # The week's median is the median of all its waits (10, 20, 5, 30, 45, 40), not of medians.
    assert week.totals.served == 4
    assert week.totals.median_wait_minutes == 20
    assert week.totals.p90_wait_minutes == 45
    assert sum(metrics.tickets_issued for _, metrics in week.days) == week.totals.tickets_issued


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "0001-01-01"])
def test_it_refuses_a_bad_day(text):
    with pytest.raises(ValidationFailed) as refused:
        parse_day(text)
    assert "date" in refused.value.errors


@pytest.mark.parametrize("text", ["2026-W54", "2026-49", "2026-W7", "0001-W01"])
def test_it_refuses_a_bad_week(app, text):
    with pytest.raises(ValidationFailed) as refused:
        parse_week(text)
    assert "week" in refused.value.errors


def test_it_reads_an_iso_week():
    assert parse_week("2026-W49") == date(2026, 11, 30)
    assert iso_week(date(2026, 11, 30)) == "2026-W49"
    assert parse_week("2026-W53") == date(2026, 12, 28)


def test_it_refuses_a_department_that_does_not_exist(app: Flask):
    with pytest.raises(ValidationFailed) as refused:
        daily_report(DAY, 999_999)
    assert "department_id" in refused.value.errors


def test_the_task_stores_yesterday_and_today(app: Flask):
    department = DepartmentFactory()
    db.session.commit()

    with time_machine.travel(at(0, 10, day=DAY + timedelta(days=1))):
        written = aggregate_metrics.call_local()
        db.session.commit()

    assert written == 2
    assert [(d, day) for d, day, _, _ in rows()] == [
        (department.id, DAY),
        (department.id, DAY + timedelta(days=1)),
    ]


def test_the_command_rebuilds_a_range_and_refuses_a_backwards_one(app: Flask):
    build_fixture_day()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["aggregate-metrics", "--from", "2026-03-09", "--to", "2026-03-11"])
    assert result.exit_code == 0, result.output
    assert "from 2026-03-09 to 2026-03-11" in result.output
    assert {day for _, day, _, _ in rows()} == {
        date(2026, 3, 9),
        date(2026, 3, 10),
        date(2026, 3, 11),
    }

    backwards = runner.invoke(
        args=["aggregate-metrics", "--from", "2026-03-11", "--to", "2026-03-09"]
    )
    assert backwards.exit_code != 0 and "--to is before --from" in backwards.output
    bad = runner.invoke(args=["aggregate-metrics", "--from", "March"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output

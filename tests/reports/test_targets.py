"""Reports: "called within target" per priority (issue 13's service targets).

The wait is the reports' wait (check-in → first call); a wait of exactly the target is within
it, a second longer is not. Patients never called are not counted.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import DepartmentFactory
from tests.reports.test_aggregates import DAY, at, make_ticket
from tests.reports.test_services import reads_tickets, statements
from tests.reports.test_views import csv_rows, page_tables
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.reports.aggregates import (
    DayAggregate,
    TargetFigure,
    day_aggregates,
    merge_all,
    metrics_from,
    targets_by_priority,
)
from webapp.reports.models import DailyMetric
from webapp.reports.services import (
    daily_report,
    iso_week,
    store_day_metrics,
    targets_table,
    weekly_report,
)


@pytest.fixture(params=["app", pytest.param("pg_app", marks=pytest.mark.postgres)])
def either_app(request: pytest.FixtureRequest) -> Flask:
    """The app on SQLite, and again on PostgreSQL (migrated) when TEST_DATABASE_URL is set."""
    return request.getfixturevalue(request.param)


# The fixture department's edited targets (urgent 10 instead of 15; the others the defaults).
TARGETS = {"emergency": 0, "urgent": 10, "priority": 30, "routine": 60}


def called(department: Department, priority: str, checked_in: tuple[int, int], wait_s: int):
    """A ticket called ``wait_s`` seconds after its check-in, then served."""
    start = at(*checked_in)
    call = start + timedelta(seconds=wait_s)
    return make_ticket(
        department,
        start,
        "completed",
        calls=[("call", call)],
        started_at=call + timedelta(minutes=1),
        ended_at=call + timedelta(minutes=5),
        priority=priority,
    )


def build_targets_day() -> Department:
    """Tickets of DAY around their targets, counted by hand:

    emergency (0):  0 s ✓, 30 s ✗                                  → 2 called, 1 within
    urgent (10):    10:00 ✓, 9:59 ✓, 10:01 ✗, 11:00 ✗               → 4 called, 2 within
    priority (30):  never called: waiting, cancelled, no-show, transferred → 0 called
    routine (60):   60:00 ✓, 61:00 ✗, first call 30:00 then a recall at 90:00 ✓,
                    a no-show called at 45:00 ✓                      → 4 called, 3 within
    all priorities: 6 of 10 within target.
    """
    department = DepartmentFactory(wait_targets={"urgent": 10})
    called(department, "emergency", (8, 0), 0)
    called(department, "emergency", (8, 1), 30)
    called(department, "urgent", (8, 2), 600)
    called(department, "urgent", (8, 3), 599)
    called(department, "urgent", (8, 4), 601)
    called(department, "urgent", (8, 5), 660)
    for status in ("waiting", "cancelled", "no_show", "transferred"):
        make_ticket(department, at(7, 0), status, priority="priority")
    called(department, "routine", (9, 0), 3600)
    called(department, "routine", (9, 1), 3660)
    make_ticket(
        department,
        at(9, 2),
        "completed",
        calls=[("call", at(9, 32)), ("recall", at(10, 32))],
        started_at=at(10, 33),
        ended_at=at(10, 40),
        priority="routine",
    )
    make_ticket(department, at(9, 3), "no_show", calls=[("call", at(9, 48))], priority="routine")
    db.session.commit()
    return department


def figures_of(department: Department, day: date = DAY) -> dict[str, tuple]:
    report = daily_report(day, department.id)
    return {
        figure.priority: (figure.target_minutes, figure.called, figure.within_target)
        for figure in report.totals.called_within_target
    }


HAND = {
    "emergency": (0, 2, 1),
    "urgent": (10, 4, 2),
    "priority": (30, 0, 0),
    "routine": (60, 4, 3),
}


def assert_hand_figures(department: Department) -> None:
    aggregate = day_aggregates(DAY, DAY, department.id)[(department.id, DAY)]
    assert aggregate.wait_targets == TARGETS
    assert aggregate.called_by_priority == {"emergency": 2, "urgent": 4, "routine": 4}
    assert aggregate.within_target_by_priority == {"emergency": 1, "urgent": 2, "routine": 3}
    metrics = metrics_from(aggregate, {})
    assert metrics.called_within_target_share == 0.6
    assert [figure.share for figure in metrics.called_within_target] == [0.5, 0.5, None, 0.75]
    assert figures_of(department) == HAND


def test_it_counts_the_hand_computed_waits_around_each_target(either_app: Flask) -> None:
    assert_hand_figures(build_targets_day())


def test_a_department_with_no_called_patient_has_targets_but_no_share(app: Flask) -> None:
    department = DepartmentFactory()
    make_ticket(department, at(8, 0), "waiting", priority="urgent")
    db.session.commit()

    metrics = daily_report(DAY, department.id).totals

    assert [figure.target_minutes for figure in metrics.called_within_target] == [0, 15, 30, 60]
    assert all(figure.called == 0 for figure in metrics.called_within_target)
    assert metrics.called_within_target_share is None
    # No ticket at all: the targets are not known for that day, not guessed.
    empty = metrics_from(DayAggregate(), {})
    assert [figure.target_minutes for figure in empty.called_within_target] == [None] * 4
    assert not any(figure.target_varies for figure in empty.called_within_target)


# ----------------------------------------------------------------- which targets


def edit_targets(department: Department, targets: dict[str, int]) -> None:
    department.wait_targets = targets
    db.session.commit()


def test_a_stored_past_day_keeps_the_targets_it_was_stored_with(either_app: Flask) -> None:
    department = build_targets_day()
    store_day_metrics(DAY, DAY)
    db.session.commit()

    # The routine target is cut to 45 minutes, then the task computes the day again.
    edit_targets(department, {"urgent": 10, "routine": 45})
    store_day_metrics(DAY, DAY)
    db.session.commit()

    assert figures_of(department) == HAND
    # A day never stored before is judged against the targets now.
    make_ticket(
        department,
        at(9, 0, day=DAY + timedelta(days=1)),
        "no_show",
        calls=[("call", at(9, 50, day=DAY + timedelta(days=1)))],
    )
    db.session.commit()
    store_day_metrics(DAY, DAY + timedelta(days=1))
    db.session.commit()
    assert figures_of(department, DAY + timedelta(days=1))["routine"] == (45, 1, 0)
    assert figures_of(department) == HAND


def test_today_is_judged_against_the_targets_in_force(either_app: Flask) -> None:
    with time_machine.travel(at(12, 0), tick=False):
        department = build_targets_day()
        store_day_metrics(DAY, DAY)  # the task's pass during the day
        db.session.commit()

        edit_targets(department, {"urgent": 11, "routine": 45})

        # Today is live; the 60- and 61-minute and the 45-minute waits are now over 45.
        assert figures_of(department)["urgent"] == (11, 4, 4)
        assert figures_of(department)["routine"] == (45, 4, 2)
        store_day_metrics(DAY, DAY)  # the next pass of the day takes the new targets too
        db.session.commit()

    # After midnight the day is past: its final passes keep the targets of its last pass.
    with time_machine.travel(at(0, 10, day=DAY + timedelta(days=1)), tick=False):
        edit_targets(department, {})
        store_day_metrics(DAY, DAY + timedelta(days=1))
        db.session.commit()
        assert figures_of(department)["urgent"] == (11, 4, 4)
        assert figures_of(department)["routine"] == (45, 4, 2)


def test_storing_again_gives_the_same_aggregate(either_app: Flask) -> None:
    build_targets_day()

    store_day_metrics(DAY, DAY)
    db.session.commit()
    first = sorted((row.department_id, row.aggregate) for row in stored_rows())
    store_day_metrics(DAY, DAY)
    db.session.commit()
    second = sorted((row.department_id, row.aggregate) for row in stored_rows())

    assert first == second
    assert all(aggregate["version"] == 3 for _id, aggregate in first)


def stored_rows() -> list[DailyMetric]:
    db.session.expire_all()
    return list(db.session.scalars(select(DailyMetric)))


def test_a_day_stored_by_the_release_before_targets_is_computed_live(either_app: Flask) -> None:
    department = build_targets_day()
    store_day_metrics(DAY, DAY)
    db.session.commit()
    # As version 2 stored it: every figure but the targets.
    for row in stored_rows():
        row.aggregate = {
            **{
                key: value
                for key, value in (row.aggregate or {}).items()
                if key not in ("called_by_priority", "within_target_by_priority", "wait_targets")
            },
            "version": 2,
        }
    db.session.commit()

    with statements() as seen:
        figures = figures_of(department)

    assert any(reads_tickets(statement) for statement in seen)
    assert figures == HAND
    # Stored again, the day is read from storage with its targets, and old rows carry none.
    store_day_metrics(DAY, DAY)
    db.session.commit()
    with statements() as seen:
        assert figures_of(department) == HAND
    assert not any(reads_tickets(statement) for statement in seen)


# ----------------------------------------------------------------- merging


def test_a_week_and_all_departments_add_the_counts_then_take_the_share(either_app: Flask) -> None:
    mine = build_targets_day()
    other = DepartmentFactory(wait_targets={"urgent": 20})
    called(other, "urgent", (8, 0), 900)  # 15 min: within 20
    tomorrow = DAY + timedelta(days=1)
    make_ticket(
        mine,
        at(8, 0, day=tomorrow),
        "no_show",
        calls=[("call", at(8, 20, day=tomorrow))],
        priority="urgent",
    )
    db.session.commit()
    store_day_metrics(DAY - timedelta(days=1), DAY)  # the week: stored and live days mixed
    db.session.commit()

    week = weekly_report(DAY - timedelta(days=DAY.weekday()))

    by_department = {row.department_id: row.metrics for row in week.departments}
    urgent = {d: m.called_within_target[1] for d, m in by_department.items()}
    assert (urgent[mine.id].called, urgent[mine.id].within_target) == (5, 2)
    assert urgent[mine.id].target_minutes == 10
    assert (urgent[other.id].called, urgent[other.id].within_target) == (1, 1)
    total = week.totals.called_within_target[1]
    assert (total.called, total.within_target, total.share) == (6, 3, 0.5)
    assert total.target_minutes is None and total.target_varies
    # The departments agree on the routine target, so the total shows it.
    assert week.totals.called_within_target[3].target_minutes == 60
    assert week.totals.called_within_target_share == round(7 / 12, 3)
    by_day = dict(week.days)
    assert by_day[tomorrow].called_within_target[1].called == 1


def test_targets_merge_to_none_where_they_differ_whatever_the_order() -> None:
    a = DayAggregate(wait_targets={"urgent": 10, "routine": 60}, called_by_priority={"urgent": 2})
    b = DayAggregate(wait_targets={"urgent": 15, "routine": 60}, called_by_priority={"urgent": 1})
    empty = DayAggregate()

    assert (a + b) + empty == a + (b + empty) == merge_all([empty, b, a]) == b + a
    assert (a + b).wait_targets == {"urgent": None, "routine": 60}
    assert (a + empty).wait_targets == a.wait_targets
    assert (a + b).called_by_priority == {"urgent": 3}


def test_the_api_form_lists_every_priority() -> None:
    figures = [
        TargetFigure("emergency", 0, False, 2, 1),
        TargetFigure("urgent", None, True, 0, 0),
    ]

    assert targets_by_priority(figures) == {
        "emergency": {"called": 2, "within_target": 1, "share": 0.5, "target_minutes": 0},
        "urgent": {"called": 0, "within_target": 0, "share": None, "target_minutes": None},
    }


# ----------------------------------------------------------------- pages and CSV


def test_the_daily_page_shows_the_table_and_the_headline(as_admin: FlaskClient) -> None:
    department = build_targets_day()

    html = as_admin.get(
        f"/reports/daily?date={DAY.isoformat()}&department_id={department.id}"
    ).get_data(as_text=True)

    headline = html.split('aria-label="Charts"')[0]
    assert 'Called within target</header><p class="stat">60%</p>' in headline
    assert "of 10 patients called" in headline
    table = next(t for t in page_tables(html) if t[0][:3] == ["Department", "Priority", "Target"])
    assert table == [
        ["Department", "Priority", "Target", "Called", "Within target", "Share"],
        [department.name, "Emergency", "0 min", "2", "1", "50%"],
        [department.name, "Urgent", "10 min", "4", "2", "50%"],
        [department.name, "Priority", "30 min", "0", "0", "—"],
        [department.name, "Routine", "60 min", "4", "3", "75%"],
    ]


def test_the_csv_of_the_table_says_what_the_weekly_page_shows(as_admin: FlaskClient) -> None:
    mine = build_targets_day()
    other = DepartmentFactory(wait_targets={"urgent": 20})
    called(other, "urgent", (8, 0), 900)
    db.session.commit()
    week = iso_week(DAY - timedelta(days=DAY.weekday()))

    html = as_admin.get(f"/reports/weekly?week={week}").get_data(as_text=True)
    rows = csv_rows(as_admin, f"/reports/weekly.csv?table=targets&week={week}")

    assert f"/reports/weekly.csv?table=targets&amp;week={week}" in html
    table = next(t for t in page_tables(html) if t[0][:3] == ["Department", "Priority", "Target"])
    assert rows[0] == [
        "department_id",
        "department",
        "priority",
        "target_minutes",
        "called",
        "within_target",
        "share_percent",
    ]
    assert len(rows) == len(table)
    for csv_row, page_row in zip(rows[1:], table[1:], strict=True):
        department_id, name, priority, target, n, within, share = csv_row
        assert (department_id == "") == (name == "All shown departments")
        assert [name, priority.capitalize(), n, within] == [
            page_row[0],
            page_row[1],
            page_row[3],
            page_row[4],
        ]
        assert page_row[2] == (f"{target} min" if target.isdigit() else target or "—")
        assert page_row[5] == (f"{share}%" if share else "—")
    # All departments first (the urgent targets differ), then each department.
    assert rows[2] == ["", "All shown departments", "urgent", "varies", "5", "3", "60"]
    assert ["", "All shown departments", "routine", "60", "4", "3", "75"] in rows
    assert [str(mine.id), mine.name, "urgent", "10", "4", "2", "50"] in rows
    assert [str(other.id), other.name, "urgent", "20", "1", "1", "100"] in rows
    assert len(rows) == 1 + 4 * (1 + len(weekly_report(DAY).departments))


def test_targets_table_names_each_department_once_per_priority(app: Flask) -> None:
    department = build_targets_day()

    rows = targets_table(daily_report(DAY, department.id))

    assert [(row.department_id, row.figure.priority) for row in rows] == [
        (department.id, priority) for priority in ("emergency", "urgent", "priority", "routine")
    ]

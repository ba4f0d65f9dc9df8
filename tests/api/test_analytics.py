"""GET /analytics/daily and /analytics/weekly (admins), JSON and CSV: webapp/api/analytics.py."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import API, detail_fields, error_of
from tests.reports.test_aggregates import build_fixture_day
from tests.reports.test_csv_export import MONDAY
from webapp import clock
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.reports.csv_export import ARRIVAL_COLUMNS, SCALAR_METRICS

DAILY = f"{API}/analytics/daily"
WEEKLY = f"{API}/analytics/weekly"
METRICS = {
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
    "arrivals_by_hour",
    "served_by_clinician",
    "estimate_mean_abs_error_minutes",
    "called_within_target",
}
HOURS = [2 if hour in (8, 9, 10) else 0 for hour in range(24)]


@pytest.fixture
def fixture_day(app: Flask) -> dict[str, Any]:
    department, alice, bob = build_fixture_day()
    return {"department": department, "alice": alice, "bob": bob}


def hand_figures(alice_id: int, bob_id: int) -> dict[str, Any]:
    """The fixture department's day, as computed by hand in tests/reports/test_aggregates.py."""
    return {
        "tickets_issued": 6,
        "walk_ins": 4,
        "appointments": 2,
        "served": 3,
        "no_shows": 1,
        "cancelled": 1,
        "transferred": 1,
        "mean_wait_minutes": 22.1,
        "median_wait_minutes": 20,
        "p90_wait_minutes": 45,
        "mean_service_minutes": 10.0,
        "arrivals_by_hour": HOURS,
        "served_by_clinician": [
            {"clinician_id": alice_id, "name": "Alice Adams", "served": 2},
            {"clinician_id": bob_id, "name": "Bob Brown", "served": 1},
        ],
        "estimate_mean_abs_error_minutes": 6.0,
        # Five routine tickets called, the longest after 45.5 minutes: all within 60.
        "called_within_target": {
            "emergency": {"called": 0, "within_target": 0, "share": None, "target_minutes": 0},
            "urgent": {"called": 0, "within_target": 0, "share": None, "target_minutes": 15},
            "priority": {"called": 0, "within_target": 0, "share": None, "target_minutes": 30},
            "routine": {"called": 5, "within_target": 5, "share": 1.0, "target_minutes": 60},
        },
    }


# ----------------------------------------------------------------- roles


@pytest.mark.parametrize("path", [DAILY, WEEKLY, f"{DAILY}?format=csv", f"{WEEKLY}?format=csv"])
def test_it_needs_a_token(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("persona", ["rita", "colin"])
@pytest.mark.parametrize("path", [DAILY, WEEKLY, f"{DAILY}?format=csv&date=bad"])
def test_it_refuses_other_staff(
    client: FlaskClient, request: pytest.FixtureRequest, persona: str, path: str
) -> None:
    response = client.get(path, headers=request.getfixturevalue(persona))

    assert response.status_code == 403  # before the query is judged
    assert error_of(response)["code"] == "forbidden"


# ----------------------------------------------------------------- JSON


def test_it_gives_a_day_s_figures_per_department_and_in_total(
    client: FlaskClient, ada: dict[str, str], fixture_day: dict[str, Any]
) -> None:
    department: Department = fixture_day["department"]

    response = client.get(DAILY, query_string={"date": "2026-03-10"}, headers=ada)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"date", "departments", "totals"}
    assert body["date"] == "2026-03-10"
    assert all(set(row) == METRICS | {"department_id"} for row in body["departments"])
    assert set(body["totals"]) == METRICS
    mine = next(row for row in body["departments"] if row["department_id"] == department.id)
    expected = hand_figures(fixture_day["alice"].id, fixture_day["bob"].id)
    assert mine == {**expected, "department_id": department.id}
    # The other department's cancelled ticket (checked in at 09:00) counts in the totals only.
    arrivals = list(HOURS)
    arrivals[9] += 1
    assert body["totals"] == {
        **expected,
        "tickets_issued": 7,
        "walk_ins": 5,
        "cancelled": 2,
        "arrivals_by_hour": arrivals,
    }


def test_the_totals_give_no_target_where_the_departments_differ(
    client: FlaskClient, ada: dict[str, str], fixture_day: dict[str, Any]
) -> None:
    department: Department = fixture_day["department"]
    department.wait_targets = {"routine": 20}  # today's edit: the past day keeps 60 if stored
    db.session.commit()

    body = client.get(DAILY, query_string={"date": "2026-03-10"}, headers=ada).get_json()

    mine = next(row for row in body["departments"] if row["department_id"] == department.id)
    # Not stored yet, so judged now: waits of 10, 20, 5, 30 and 45.5 minutes against 20.
    assert mine["called_within_target"]["routine"] == {
        "called": 5,
        "within_target": 3,
        "share": 0.6,
        "target_minutes": 20,
    }
    assert body["totals"]["called_within_target"]["routine"]["target_minutes"] is None
    assert body["totals"]["called_within_target"]["urgent"]["target_minutes"] == 15
    assert body["totals"]["called_within_target"]["routine"]["within_target"] == 3


def test_it_keeps_one_department_when_asked(
    client: FlaskClient, ada: dict[str, str], fixture_day: dict[str, Any]
) -> None:
    department: Department = fixture_day["department"]

    body = client.get(
        DAILY, query_string={"date": "2026-03-10", "department_id": department.id}, headers=ada
    ).get_json()

    assert [row["department_id"] for row in body["departments"]] == [department.id]
    expected = hand_figures(fixture_day["alice"].id, fixture_day["bob"].id)
    assert body["totals"] == expected


def test_it_reports_today_by_default_with_nulls_where_there_is_no_data(
    client: FlaskClient, ada: dict[str, str], app: Flask
) -> None:
    body = client.get(DAILY, headers=ada).get_json()

    assert body["date"] == clock.today().isoformat()
    assert body["totals"]["tickets_issued"] == 0
    assert body["totals"]["median_wait_minutes"] is None
    assert body["totals"]["arrivals_by_hour"] == [0] * 24


def test_it_gives_an_iso_week_with_a_row_per_day(
    client: FlaskClient, ada: dict[str, str], fixture_day: dict[str, Any]
) -> None:
    department: Department = fixture_day["department"]

    response = client.get(
        WEEKLY, query_string={"week": "2026-W11", "department_id": department.id}, headers=ada
    )

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"week", "start", "end", "departments", "totals", "days"}
    assert (body["week"], body["start"], body["end"]) == ("2026-W11", "2026-03-09", "2026-03-15")
    assert [day["date"] for day in body["days"]] == [
        (MONDAY + timedelta(days=n)).isoformat() for n in range(7)
    ]
    assert all(set(day) == METRICS | {"date"} for day in body["days"])
    expected = hand_figures(fixture_day["alice"].id, fixture_day["bob"].id)
    assert body["days"][1] == {**expected, "date": "2026-03-10"}
    # The week also holds the fixture's ticket of the day before (a cancellation).
    assert body["days"][0]["tickets_issued"] == body["days"][0]["cancelled"] == 1
    assert body["totals"]["tickets_issued"] == 7
    assert body["totals"]["median_wait_minutes"] == 20
    assert body["departments"] == [{**body["totals"], "department_id": department.id}]


# ----------------------------------------------------------------- CSV


def csv_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def assert_row_matches(row: dict[str, str], figures: dict[str, Any]) -> None:
    """A CSV row says the same as the JSON figures (empty cell = null)."""
    for name in SCALAR_METRICS:
        value = figures[name]
        if value is None:
            assert row[name] == "", name
        else:
            assert float(row[name]) == value, name
    assert [int(row[column]) for column in ARRIVAL_COLUMNS] == figures["arrivals_by_hour"]
    assert row["served_by_clinician"] == "; ".join(
        f"{entry['name']}: {entry['served']}" for entry in figures["served_by_clinician"]
    )


def test_it_downloads_the_day_as_csv_row_by_row_as_the_json(
    client: FlaskClient, ada: dict[str, str], fixture_day: dict[str, Any]
) -> None:
    query = {"date": "2026-03-10"}
    body = client.get(DAILY, query_string=query, headers=ada).get_json()

    response = client.get(DAILY, query_string={**query, "format": "csv"}, headers=ada)

    rows = csv_of(response)
    assert response.headers["Content-Disposition"] == 'attachment; filename="report-2026-03-10.csv"'
    assert [row["row"] for row in rows] == ["department"] * len(body["departments"]) + ["total"]
    for row, figures in zip(rows, body["departments"], strict=False):
        assert row["department_id"] == str(figures["department_id"])
        assert_row_matches(row, figures)
    assert_row_matches(rows[-1], body["totals"])
    assert rows[-1]["served_by_clinician"] == "Alice Adams: 2; Bob Brown: 1"


def test_it_downloads_the_week_as_csv_with_a_row_per_day(
    client: FlaskClient, ada: dict[str, str], fixture_day: dict[str, Any]
) -> None:
    department: Department = fixture_day["department"]
    query = {"week": "2026-W11", "department_id": department.id}
    body = client.get(WEEKLY, query_string=query, headers=ada).get_json()

    response = client.get(WEEKLY, query_string={**query, "format": "csv"}, headers=ada)

    rows = csv_of(response)
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="report-2026-W11-department-{department.id}.csv"'
    )
    assert [(row["row"], row["period"]) for row in rows] == [
        ("department", "2026-W11"),
        ("total", "2026-W11"),
        *(("day", day["date"]) for day in body["days"]),
    ]
    assert_row_matches(rows[0], body["departments"][0])
    assert_row_matches(rows[1], body["totals"])
    for row, day in zip(rows[2:], body["days"], strict=True):
        assert_row_matches(row, day)


# ----------------------------------------------------------------- 422


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        (DAILY, {"date": "2026-02-30"}, "date"),
        (DAILY, {"date": "yesterday"}, "date"),
        (DAILY, {"date": "0001-12-31"}, "date"),
        (DAILY, {"department_id": "abc"}, "department_id"),
        (DAILY, {"department_id": "0"}, "department_id"),
        (DAILY, {"department_id": "999999"}, "department_id"),
        (DAILY, {"format": "xml"}, "format"),
        (WEEKLY, {"week": "2026-49"}, "week"),
        (WEEKLY, {"week": "2025-W53"}, "week"),  # 2025 has 52 ISO weeks
        (WEEKLY, {"week": "2026-W00"}, "week"),
        (WEEKLY, {"department_id": "999999", "format": "csv"}, "department_id"),
    ],
)
def test_it_refuses_a_bad_date_week_or_department(
    client: FlaskClient, ada: dict[str, str], path: str, query: dict[str, str], field: str
) -> None:
    response = client.get(path, query_string=query, headers=ada)

    assert response.status_code == 422
    assert field in detail_fields(response)


@pytest.mark.postgres
def test_it_gives_the_same_day_and_csv_on_postgresql(
    pg_client: FlaskClient, pg_admin_headers: dict[str, str]
) -> None:
    department, alice, bob = build_fixture_day()
    query = {"date": "2026-03-10", "department_id": department.id}

    body = pg_client.get(DAILY, query_string=query, headers=pg_admin_headers).get_json()
    rows = csv_of(
        pg_client.get(DAILY, query_string={**query, "format": "csv"}, headers=pg_admin_headers)
    )

    assert body["totals"] == hand_figures(alice.id, bob.id)
    assert_row_matches(rows[0], body["departments"][0])
    assert_row_matches(rows[1], body["totals"])

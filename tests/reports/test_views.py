"""The report pages: who may see them, what they show, and bad pickers as field errors."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient

from tests.reports.test_aggregates import DAY, build_fixture_day

PAGES = ["/reports/daily", "/reports/weekly"]


@pytest.mark.parametrize("path", PAGES)
def test_it_sends_an_anonymous_visitor_to_sign_in(client: FlaskClient, path: str):
    response = client.get(path)

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
def test_it_refuses_staff_who_are_not_admins(
    request: pytest.FixtureRequest, persona: str, path: str
):
    client: FlaskClient = request.getfixturevalue(persona)

    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_it_shows_an_admin_the_report_with_its_chart_data(as_admin: FlaskClient, path: str):
    response = as_admin.get(path)
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Median wait" in html
    assert 'id="chart-arrivals"' in html
    assert "vendor/chart.umd.min.js" in html
    assert "js/reports.js" in html


def chart_json(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="report-chart-data">(.*?)</script>', html, re.S
    )
    assert match is not None
    return json.loads(match[1])


def test_it_shows_a_day_s_hand_computed_figures_in_headline_table_and_charts(
    as_admin: FlaskClient,
):
    department, _alice, _bob = build_fixture_day()

    html = as_admin.get(
        f"/reports/daily?date={DAY.isoformat()}&department_id={department.id}"
    ).get_data(as_text=True)

    headline = html.split('aria-label="Charts"')[0]
    assert re.search(r"Median wait</header><p class=\"stat\">20 min", headline)
    assert re.search(r"90th percentile wait</header><p class=\"stat\">45 min", headline)
    assert re.search(r"Estimate error</header><p class=\"stat\">6 min", headline)
    assert "50% called within their estimate" in headline
    data = chart_json(html)
    assert data["arrivals"]["values"][8:11] == [2, 2, 2]
    assert sum(data["arrivals"]["values"]) == 6
    assert dict(zip(data["clinicians"]["labels"], data["clinicians"]["values"], strict=True)) == {
        "Alice Adams": 2,
        "Bob Brown": 1,
    }
    assert f"{department.name} <small>({department.code})</small>" in html
    assert "<td>22.1 min</td>" in html  # the mean wait, in the department's row


def test_it_shows_a_week_per_day_with_the_fixture_day_in_it(as_admin: FlaskClient):
    build_fixture_day()
    week = f"{DAY.isocalendar()[0]}-W{DAY.isocalendar()[1]:02d}"

    response = as_admin.get(f"/reports/weekly?week={week}")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "By day" in html
    assert chart_json(html)["days"]["values"] == [0, 3, 0, 0, 0, 0, 0]  # Tuesday 10 March
    assert "2026-03-09 to 2026-03-15" in html


@pytest.mark.parametrize(
    ("path", "typed", "field"),
    [
        ("/reports/daily?date=2026-02-30", "2026-02-30", "date"),
        ("/reports/daily?date=yesterday", "yesterday", "date"),
        ("/reports/daily?date=0001-01-01", "0001-01-01", "date"),
        ("/reports/weekly?week=2026-W60", "2026-W60", "week"),
        ("/reports/weekly?week=last+week", "last week", "week"),
        ("/reports/daily?department_id=99999", None, "department_id"),
        ("/reports/weekly?department_id=abc", None, "department_id"),
    ],
)
def test_it_shows_a_bad_picker_as_a_field_error_keeping_what_was_typed(
    as_admin: FlaskClient, path: str, typed: str | None, field: str
):
    response = as_admin.get(path)
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert f'id="{field}-error"' in html
    assert 'aria-invalid="true"' in html
    if typed is not None:
        assert f'value="{typed}"' in html
    assert 'id="report-chart-data"' not in html


def test_it_links_the_reports_from_the_admin_dashboard_and_the_navigation(
    as_admin: FlaskClient,
):
    html = as_admin.get("/").get_data(as_text=True)

    assert html.count('href="/reports/daily"') == 2

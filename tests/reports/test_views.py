"""The report pages: who may see them, what they show, and bad pickers as field errors."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

from tests.reports.test_aggregates import DAY, build_fixture_day
from webapp import clock
from webapp.reports import csv_export
from webapp.reports.services import daily_report, iso_week

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
    for chart in ("chart-hours", "chart-waits", "chart-clinicians", "chart-heatmap"):
        assert f'id="{chart}"' in html
    assert "vendor/chart.umd.min.js" in html
    assert "vendor/chartjs-chart-matrix.min.js" in html
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
    assert data["hours"]["arrivals"][8:11] == [2, 2, 2]
    assert sum(data["hours"]["arrivals"]) == 6
    assert data["hours"]["served"][8:10] == [2, 1]
    assert sum(data["hours"]["served"]) == 3
    assert data["waits"]["values"] == [1, 1, 1, 1, 1, 0, 0]
    assert data["waits"]["labels"][-1] == "60+ min"
    # The heat map's four weeks end on the day: Tuesday's 08–10 arrivals, and the department's
    # ticket of Monday 9 March at 09:00.
    heat = data["heatmap"]["counts"]
    assert heat[1][8:11] == [2, 2, 2]
    assert heat[0][9] == 1
    assert sum(map(sum, heat)) == 7
    assert data["heatmap"]["peak"] == 2
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
    assert '<a href="/reports/daily?date=2026-03-10">Tue 2026-03-10</a>' in html


def test_the_daily_report_links_the_week_of_its_day_with_the_same_department(
    as_admin: FlaskClient,
):
    department = build_fixture_day()[0]

    html = as_admin.get(
        f"/reports/daily?date={DAY.isoformat()}&department_id={department.id}"
    ).get_data(as_text=True)

    assert (
        f'<a href="/reports/weekly?week=2026-W11&amp;department_id={department.id}">'
        "Weekly report of 2026-W11</a>"
    ) in html


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


@pytest.mark.parametrize("path", ["/reports/daily.csv", "/reports/weekly.csv"])
def test_it_keeps_the_csv_from_anyone_but_an_admin(
    client: FlaskClient, as_clinician: FlaskClient, path: str
):
    assert as_clinician.get(path).status_code == 403


def test_it_sends_an_anonymous_visitor_from_the_csv_to_sign_in(client: FlaskClient):
    assert "/login" in client.get("/reports/daily.csv").headers["Location"]


def test_it_downloads_the_day_s_tables_as_the_csv_export_writes_them(as_admin: FlaskClient):
    department = build_fixture_day()[0]
    query = f"date={DAY.isoformat()}&department_id={department.id}"
    page = as_admin.get(f"/reports/daily?{query}").get_data(as_text=True)
    assert f'href="/reports/daily.csv?department_id={department.id}&amp;date=2026-03-10"' in page

    response = as_admin.get(f"/reports/daily.csv?{query}")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        f"report-2026-03-10-department-{department.id}.csv"
        in response.headers["Content-Disposition"]
    )
    expected = csv_export.report_csv(daily_report(DAY, department.id))
    assert response.get_data(as_text=True) == expected
    assert "Alice Adams: 2; Bob Brown: 1" in expected


def test_it_downloads_a_week_as_csv_with_a_row_per_day(as_admin: FlaskClient):
    build_fixture_day()

    response = as_admin.get("/reports/weekly.csv?week=2026-W11")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('"report-2026-W11.csv"')
    assert response.get_data(as_text=True).count("\r\nday,2026-03-") == 7


def test_it_shows_the_page_with_errors_for_a_csv_of_a_bad_week(as_admin: FlaskClient):
    response = as_admin.get("/reports/weekly.csv?week=2026-W99&department_id=x")
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="week-error"' in html
    assert "Choose a department from the list." in html  # both errors at once


def test_it_shows_the_day_and_week_it_defaulted_to_in_the_pickers(as_admin: FlaskClient):
    today = clock.today()
    monday = today - timedelta(days=today.weekday())

    daily = as_admin.get("/reports/daily").get_data(as_text=True)
    weekly = as_admin.get("/reports/weekly").get_data(as_text=True)

    assert re.search(rf'name="date"[^>]*value="{today.isoformat()}"', daily)
    assert re.search(rf'name="week"[^>]*value="{iso_week(monday)}"', weekly)


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def csv_rows(client: FlaskClient, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_it_downloads_every_other_table_as_a_csv_with_the_table_s_figures(
    as_admin: FlaskClient,
):
    department, _alice, _bob = build_fixture_day()
    query = f"date={DAY.isoformat()}&department_id={department.id}"
    html = as_admin.get(f"/reports/daily?{query}").get_data(as_text=True)
    # By department, per hour, wait distribution, within target, served per clinician, heat map.
    _summary, hours, waits, _targets, clinicians, heatmap = page_tables(html)
    for table in ("summary", "hours", "waits", "targets", "clinicians", "heatmap"):
        assert f"/reports/daily.csv?table={table}&amp;department_id={department.id}" in html

    hour_rows = csv_rows(as_admin, f"/reports/daily.csv?table=hours&{query}")
    assert hour_rows[0] == ["hour", "arrivals", "served"]
    assert [row[1] for row in hour_rows[1:]] == hours[1][1:]  # the table's Arrivals row
    assert [row[2] for row in hour_rows[1:]] == hours[2][1:]  # and its Served row

    wait_rows = csv_rows(as_admin, f"/reports/daily.csv?table=waits&{query}")
    assert [[band.removesuffix(" min"), n] for band, n in wait_rows[1:]] == [
        [band.removesuffix(" min"), n] for band, n in waits[1:]
    ]

    clinician_rows = csv_rows(as_admin, f"/reports/daily.csv?table=clinicians&{query}")
    assert [row[1:] for row in clinician_rows[1:]] == clinicians[1:]
    assert clinicians[1:] == [["Alice Adams", "2"], ["Bob Brown", "1"]]

    response = as_admin.get(f"/reports/daily.csv?table=heatmap&{query}")
    assert response.headers["Content-Disposition"].endswith(
        f'"report-2026-03-10-department-{department.id}-heatmap.csv"'
    )
    heat_rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [row[2:] for row in heat_rows[1:]] == [row[1:] for row in heatmap[1:]]
    assert heat_rows[1][:2] == ["Monday", "2026-02-11/2026-03-10"]


def test_it_answers_404_for_a_table_that_does_not_exist(as_admin: FlaskClient):
    assert as_admin.get("/reports/daily.csv?table=patients").status_code == 404
    assert as_admin.get("/reports/weekly.csv?table=../etc").status_code == 404


def test_the_heat_map_of_a_week_in_the_future_ends_today(as_admin: FlaskClient):
    next_week = iso_week(clock.today() + timedelta(days=7 - clock.today().weekday()))

    rows = csv_rows(as_admin, f"/reports/weekly.csv?table=heatmap&week={next_week}")

    assert rows[1][1].endswith(f"/{clock.today().isoformat()}")

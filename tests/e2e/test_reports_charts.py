"""The report pages in a browser: Chart.js (served from static/vendor) draws the charts from
the page's JSON data under the CSP, with no console error, no request leaving loopback and
no serious accessibility violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.accessibility import assert_accessible
from tests.e2e.pages import sign_in, watch_csp
from webapp import clock

# Whether a canvas holds any non-transparent pixel (Chart.js draws bars, axes and labels).
DRAWN = """canvas => {
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) { return true; } }
  return false;
}"""


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.parametrize("which", ["daily", "weekly"])
def test_it_draws_the_report_charts_without_errors(
    page: Page, live_server: str, live_app: Flask, which: str
):
    with live_app.app_context():
        yesterday = clock.today() - timedelta(days=1)  # the demo history ends yesterday
    query = (
        f"date={yesterday.isoformat()}"
        if which == "daily"
        else "week={}-W{:02d}".format(*yesterday.isocalendar()[:2])
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    csp = watch_csp(page)
    errors = console_errors(page)
    sign_in(page, live_server, "admin", "admin-demo-123")

    page.goto(f"{live_server}/reports/{which}?{query}")

    charts = ["chart-hours", "chart-waits", "chart-clinicians", "chart-heatmap"]
    charts += ["chart-days"] if which == "weekly" else []
    for chart in charts:
        canvas = page.locator(f"#{chart}")
        expect(canvas).to_have_attribute("data-drawn", "true")
        assert canvas.evaluate(DRAWN), f"{chart} has no drawn pixel"
    # The heat map reads like its table: Monday on top, hours left to right.
    monday_y, sunday_y = page.evaluate(
        """() => {
          const chart = Object.values(Chart.instances).find(c => c.config.type === 'matrix');
          return [chart.scales.y.getPixelForValue(0), chart.scales.y.getPixelForValue(6)];
        }"""
    )
    assert monday_y < sunday_y
    expect(page.get_by_role("table").first).to_be_visible()
    assert_accessible(page)
    assert errors == []
    assert csp == []

"""The app's icon: an SVG linked from every page, and /favicon.ico for browsers that ask."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[1]
ICON_LINK = """<link rel="icon" href="{{ url_for('static', filename='favicon.svg') }}" """


def test_it_answers_favicon_ico_with_a_32_pixel_icon(client: FlaskClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:6] == b"\x00\x00\x01\x00\x01\x00"  # an icon file holding one image
    assert response.data[6:8] == b"\x20\x20"  # 32×32
    assert b"\x89PNG" in response.data
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_it_serves_the_svg_and_its_png_fallback(client: FlaskClient) -> None:
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert b"<script" not in svg.data
    png = client.get("/static/favicon-32.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")


def test_the_sign_in_page_links_the_icon(client: FlaskClient) -> None:
    body = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body


@pytest.mark.parametrize(
    "template",
    ["base.html", "display/show.html", "tickets/print.html", "tickets/status.html"],
)
def test_every_page_frame_links_the_icon(template: str) -> None:
    assert ICON_LINK in (ROOT / "templates" / template).read_text()

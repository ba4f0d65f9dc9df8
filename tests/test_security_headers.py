"""Security headers on every response (webapp/session_guard.py) and no inline scripts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import sign_in

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
INLINE_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:a-z-]*)\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def _responses(client: FlaskClient, user: Any) -> dict[str, Any]:
    responses = {
        "login page": client.get("/login"),
        "404 page": client.get("/no/such/page"),
        "healthz": client.get("/healthz"),
        "readyz": client.get("/readyz"),
        "405 page": client.get("/logout"),
        "failed sign-in": client.post("/login", data={"username": "x", "password": "y"}),
    }
    sign_in(client, user)
    responses["dashboard"] = client.get("/")
    responses["signed-in 404"] = client.get("/no/such/page")
    return responses


@pytest.fixture
def responses(client, admin) -> dict[str, Any]:
    return _responses(client, admin)


def test_it_sends_a_strict_content_security_policy_everywhere(responses):
    for name, response in responses.items():
        csp = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp, name
        assert "frame-ancestors 'none'" in csp, name
        assert "unsafe-inline" not in csp, name
        assert "unsafe-eval" not in csp, name
        assert "script-src 'self'" in csp, name


def test_it_sends_the_other_security_headers_everywhere(responses):
    for name, response in responses.items():
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("X-Frame-Options") == "DENY", name
        assert response.headers.get("Referrer-Policy"), name


def test_it_forbids_caching_of_signed_in_pages(responses):
    for name in ("dashboard", "signed-in 404"):
        assert responses[name].headers.get("Cache-Control") == "no-store", name


def test_it_does_not_send_hsts_without_secure_cookies(responses):
    assert "Strict-Transport-Security" not in responses["login page"].headers


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}])
def test_it_sends_hsts_with_secure_cookies(client):
    response = client.get("/login", base_url="https://localhost")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("page", ["login page", "dashboard", "404 page", "signed-in 404"])
def test_it_renders_no_inline_script(responses, page):
    html = responses[page].get_data(as_text=True)

    scripts = SCRIPT_TAG.findall(html)
    assert scripts, "expected the page to load its scripts"
    for attributes, body in scripts:
        assert "src=" in attributes, attributes
        assert body.strip() == ""
    assert not INLINE_HANDLER.search(html)
    assert not INLINE_STYLE.search(html)
    assert "javascript:" not in html.lower()


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
def test_it_renders_no_inline_script_on_other_dashboards(request, persona):
    html = request.getfixturevalue(persona).get("/").get_data(as_text=True)

    for attributes, body in SCRIPT_TAG.findall(html):
        assert "src=" in attributes, attributes
        assert body.strip() == ""
    assert not INLINE_HANDLER.search(html)


def test_it_sends_the_headers_with_an_unexpected_error_page(app, client):
    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom")

    response = client.get("/boom")

    assert response.status_code == 500
    assert "kaboom" not in response.get_data(as_text=True)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"

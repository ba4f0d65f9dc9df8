"""Every page built so far passes axe-core's WCAG 2.1 AA checks with no serious or critical
violation, and no page breaks its own Content-Security-Policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.accessibility import assert_accessible
from tests.e2e.pages import sign_in, watch_csp

ANONYMOUS_PAGES = ["/login", "/no-such-page"]
ADMIN_PAGES = [
    "/",
    "/admin/users",
    "/admin/users/new",
    "/admin/users/1",
    "/admin/departments",
    "/admin/departments/new",
    "/admin/departments/1",
    "/admin/audit",
    "/patients",
    "/patients?q=a",
    "/patients/new",
    "/patients/1",
    "/patients/1/edit",
    "/appointments/day",
    "/appointments",
    "/appointments/new",
    "/appointments/1",
    "/queue",
    "/workstation",
    "/displays",
]
PERSONA_DASHBOARDS = [("reception", "reception-demo-1"), ("clinician", "clinician-demo-1")]


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_it_keeps_public_pages_accessible(page: Page, live_server: str, path: str) -> None:
    csp_problems = watch_csp(page)
    page.goto(f"{live_server}{path}")
    assert_accessible(page)
    assert csp_problems == []


def test_it_keeps_the_admin_pages_accessible(page: Page, live_server: str) -> None:
    csp_problems = watch_csp(page)
    sign_in(page, live_server, "admin", "admin-demo-123")
    for path in ADMIN_PAGES:
        page.goto(f"{live_server}{path}")
        assert_accessible(page)
    # A form showing its errors must be accessible too.
    page.goto(f"{live_server}/admin/users/new")
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("Please correct the fields").wait_for()
    assert_accessible(page)
    assert csp_problems == []


@pytest.mark.parametrize(("username", "password"), PERSONA_DASHBOARDS)
def test_it_keeps_each_dashboard_accessible(
    page: Page, live_server: str, username: str, password: str
) -> None:
    csp_problems = watch_csp(page)
    sign_in(page, live_server, username, password)
    assert_accessible(page)
    assert csp_problems == []


def test_it_would_catch_a_violation(page: Page, live_server: str) -> None:
    """The checker itself works: an unlabelled field and grey-on-grey text are reported."""
    from tests.e2e.accessibility import serious_violations

    page.goto(f"{live_server}/login")
    page.evaluate(
        """() => {
            const input = document.createElement('input');
            document.querySelector('main').append(input);
            const faint = document.createElement('p');
            faint.textContent = 'hard to read';
            faint.setAttribute('style', 'color:#bbb;background:#ccc');
            document.querySelector('main').append(faint);
        }"""
    )
    found = {violation["id"] for violation in serious_violations(page)}
    assert "label" in found

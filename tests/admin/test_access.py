"""Who may open the admin pages: anonymous → sign-in, receptionist / clinician → 403, admin → in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.admin.helpers import change_audit_count, main_nav
from tests.conftest import sign_in
from tests.factories import DepartmentFactory, ServicePointFactory, UserFactory
from webapp.auth.models import User
from webapp.extensions import db


@dataclass
class Targets:
    user: Any
    department: Any
    point: Any
    inactive_user: Any
    inactive_point: Any

    def url(self, template: str) -> str:
        return template.format(
            user=self.user.id,
            inactive_user=self.inactive_user.id,
            dept=self.department.id,
            sp=self.point.id,
            inactive_sp=self.inactive_point.id,
        )


@pytest.fixture
def targets(app: Flask) -> Targets:
    department = DepartmentFactory(code="GM", name="General Medicine")
    result = Targets(
        user=UserFactory(username="target", role="receptionist"),
        department=department,
        point=ServicePointFactory(department=department, name="Room 1"),
        inactive_user=UserFactory(username="gone", active=False),
        inactive_point=ServicePointFactory(department=department, name="Room 2", active=False),
    )
    db.session.commit()
    return result


GET_PAGES = [
    "/admin/users",
    "/admin/users/new",
    "/admin/users/{user}",
    "/admin/departments",
    "/admin/departments/new",
    "/admin/departments/{dept}",
    "/admin/audit",
]

NEW_USER = {
    "username": "newbie",
    "full_name": "New Bie",
    "role": "clinician",
    "password": "a long enough password",
    "confirm": "a long enough password",
}
NEW_DEPARTMENT = {
    "code": "XR",
    "name": "Radiology",
    "default_service_minutes": "20",
    "accepts_walk_ins": "y",
    "active": "y",
    "always_open": "y",
}
EDIT_DEPARTMENT = {**NEW_DEPARTMENT, "code": "GM", "name": "General Medicine (renamed)"}

# (url, form data, where an admin is sent afterwards; None = a new department's page)
POST_ENDPOINTS = [
    ("/admin/users/new", NEW_USER, "/admin/users"),
    ("/admin/users/{user}", {"full_name": "Changed Name", "role": "clinician"}, "/admin/users"),
    (
        "/admin/users/{user}/password",
        {"password": "another long password", "confirm": "another long password"},
        "/admin/users/{user}",
    ),
    ("/admin/users/{user}/deactivate", {}, "/admin/users"),
    ("/admin/users/{inactive_user}/reactivate", {}, "/admin/users"),
    ("/admin/departments/new", NEW_DEPARTMENT, None),
    ("/admin/departments/{dept}", EDIT_DEPARTMENT, "/admin/departments/{dept}"),
    (
        "/admin/departments/{dept}/service-points",
        {"new-name": "Room 9"},
        "/admin/departments/{dept}",
    ),
    ("/admin/service-points/{sp}", {"sp{sp}-name": "Room 1A"}, "/admin/departments/{dept}"),
    ("/admin/service-points/{sp}/deactivate", {}, "/admin/departments/{dept}"),
    ("/admin/service-points/{inactive_sp}/reactivate", {}, "/admin/departments/{dept}"),
]
POST_IDS = [url for url, _, _ in POST_ENDPOINTS]


def _form(targets: Targets, data: dict[str, str]) -> dict[str, str]:
    return {targets.url(key): value for key, value in data.items()}


@pytest.mark.parametrize("url", GET_PAGES)
def test_it_sends_anonymous_visitors_of_admin_pages_to_sign_in(
    client: FlaskClient, targets: Targets, url: str
) -> None:
    response = client.get(targets.url(url))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(("url", "data", "_next"), POST_ENDPOINTS, ids=POST_IDS)
def test_it_sends_anonymous_posts_to_sign_in_and_changes_nothing(
    client: FlaskClient, targets: Targets, url: str, data: dict[str, str], _next: str | None
) -> None:
    before = change_audit_count()

    response = client.post(targets.url(url), data=_form(targets, data))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert change_audit_count() == before


@pytest.mark.parametrize("persona", ["receptionist", "clinician"])
@pytest.mark.parametrize("url", GET_PAGES)
def test_it_forbids_admin_pages_to_other_roles(
    client: FlaskClient, targets: Targets, persona: str, url: str, request: pytest.FixtureRequest
) -> None:
    sign_in(client, request.getfixturevalue(persona))

    response = client.get(targets.url(url))

    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["receptionist", "clinician"])
@pytest.mark.parametrize(("url", "data", "_next"), POST_ENDPOINTS, ids=POST_IDS)
def test_it_forbids_admin_changes_to_other_roles(
    client: FlaskClient,
    targets: Targets,
    persona: str,
    url: str,
    data: dict[str, str],
    _next: str | None,
    request: pytest.FixtureRequest,
) -> None:
    sign_in(client, request.getfixturevalue(persona))
    before = change_audit_count()

    response = client.post(targets.url(url), data=_form(targets, data))

    assert response.status_code == 403
    assert change_audit_count() == before
    db.session.expire_all()
    assert targets.user.active and targets.user.full_name != "Changed Name"
    assert targets.point.active and targets.point.name == "Room 1"


@pytest.mark.parametrize("url", GET_PAGES)
def test_it_shows_admin_pages_to_admins(as_admin: FlaskClient, targets: Targets, url: str) -> None:
    response = as_admin.get(targets.url(url))

    assert response.status_code == 200


@pytest.mark.parametrize(("url", "data", "next_url"), POST_ENDPOINTS, ids=POST_IDS)
def test_it_lets_admins_post_and_redirects(
    as_admin: FlaskClient, targets: Targets, url: str, data: dict[str, str], next_url: str | None
) -> None:
    before = change_audit_count()

    response = as_admin.post(targets.url(url), data=_form(targets, data))

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    if next_url is None:
        assert location.startswith("/admin/departments/")
        assert location != "/admin/departments/new"
    else:
        assert location == targets.url(next_url)
    assert change_audit_count() == before + 1


ADMIN_LINKS = ('href="/admin/users"', 'href="/admin/departments"', 'href="/admin/audit"')


def test_it_shows_the_admin_entries_in_the_navigation_to_admins(as_admin: FlaskClient) -> None:
    nav = main_nav(as_admin.get("/").get_data(as_text=True))

    for link in ADMIN_LINKS:
        assert link in nav
    for label in ("Staff", "Departments", "Audit log"):
        assert f">{label}</a>" in nav


@pytest.mark.parametrize("persona", ["receptionist", "clinician"])
def test_it_hides_the_admin_entries_in_the_navigation_from_other_roles(
    client: FlaskClient, persona: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    sign_in(client, user)

    response = client.get("/")

    assert response.status_code == 200
    nav = main_nav(response.get_data(as_text=True))
    assert user.full_name in nav  # the signed-in navigation, not the anonymous one
    for link in ADMIN_LINKS:
        assert link not in nav
    assert ">Staff</a>" not in nav and ">Audit log</a>" not in nav


def test_it_sends_anonymous_htmx_requests_to_sign_in_with_hx_redirect(
    client: FlaskClient, targets: Targets
) -> None:
    response = client.get("/admin/users", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("url", ["/admin/users/9999", "/admin/departments/9999"])
def test_it_answers_403_not_404_to_other_roles_for_unknown_ids(
    as_receptionist: FlaskClient, url: str
) -> None:
    assert as_receptionist.get(url).status_code == 403

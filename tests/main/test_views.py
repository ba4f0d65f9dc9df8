"""The dashboard and the operations probes (webapp/main/views.py, webapp/main/services.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tests.factories import DepartmentFactory
from webapp.extensions import db

DEAD_REDIS = "redis://127.0.0.1:6390/0"


def test_it_sends_an_anonymous_visitor_of_the_dashboard_to_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/"


@pytest.mark.parametrize(
    ("persona", "heading", "absent"),
    [
        ("as_receptionist", "<h1>Front desk</h1>", "<h1>Administration</h1>"),
        ("as_clinician", "<h1>Clinician</h1>", "<h1>Front desk</h1>"),
        ("as_admin", "<h1>Administration</h1>", "<h1>Clinician</h1>"),
    ],
)
def test_it_shows_each_role_its_own_dashboard(request, persona, heading, absent):
    client = request.getfixturevalue(persona)

    response = client.get("/")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert heading in html
    assert absent not in html


def test_it_lists_active_departments_on_the_dashboard(as_receptionist):
    DepartmentFactory(name="Radiology")
    DepartmentFactory(name="Closed Wing", active=False)
    db.session.commit()

    html = as_receptionist.get("/").get_data(as_text=True)

    assert "Radiology" in html
    assert "Closed Wing" not in html


def test_it_links_each_departments_waiting_room_screen_from_the_dashboard(as_receptionist):
    DepartmentFactory(code="RAD", name="Radiology")
    db.session.commit()

    html = as_receptionist.get("/").get_data(as_text=True)

    assert 'href="/display/RAD"' in html and "Screen" in html


def test_it_shows_staff_links_only_to_admins(as_receptionist):
    html = as_receptionist.get("/").get_data(as_text=True)

    assert "/admin/users" not in html


def test_it_answers_healthz_without_sign_in(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_it_answers_readyz_when_the_database_answers(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok"}


class TestReadyzWithRedisDown:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"REDIS_URL": DEAD_REDIS}

    def test_it_answers_503_naming_redis(self, client):
        response = client.get("/readyz")

        assert response.status_code == 503
        body = response.get_json()
        assert body["down"] == ["redis"]
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["redis"].startswith("unavailable")


@pytest.mark.redis
class TestReadyzWithRedisUp:
    @pytest.fixture
    def app_config(self, redis_url: str) -> dict[str, Any]:
        return {"REDIS_URL": redis_url}

    def test_it_checks_redis(self, client):
        response = client.get("/readyz")

        assert response.status_code == 200
        assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_it_answers_readyz_503_naming_the_database_when_it_fails(client, monkeypatch):
    def broken_execute(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", broken_execute)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["database"]
    assert body["checks"]["database"] == "unavailable: OperationalError"


def test_it_answers_an_unknown_page_with_a_404_html_page(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in response.get_data(as_text=True)


def test_it_answers_an_unknown_page_with_404_when_signed_in(as_receptionist):
    response = as_receptionist.get("/no/such/page")

    assert response.status_code == 404
    assert "Back to the dashboard" in response.get_data(as_text=True)


def test_it_shows_admins_when_the_worker_last_ran(as_admin):
    from webapp.tasks import record_worker_heartbeat

    record_worker_heartbeat()

    html = as_admin.get("/").get_data(as_text=True)

    assert "Last seen" in html
    assert "Not seen yet" not in html

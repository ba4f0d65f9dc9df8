"""role_required (webapp/auth/permissions.py) on a tiny blueprint of its own."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Blueprint, Flask

from webapp.auth.permissions import role_required


def _probe_blueprint() -> Blueprint:
    bp = Blueprint("probe", __name__, url_prefix="/probe")

    @bp.route("/clinical")
    @role_required("clinician", "admin")
    def clinical() -> str:
        return "clinical page"

    @bp.route("/front-desk")
    @role_required("receptionist")
    def front_desk() -> str:
        return "front desk page"

    return bp


@pytest.fixture(autouse=True)
def probe_routes(app: Flask) -> None:
    """Registered before any request (a Flask app refuses new routes after its first)."""
    app.register_blueprint(_probe_blueprint())


def test_it_sends_an_anonymous_visitor_to_sign_in_with_next(client):
    response = client.get("/probe/clinical?tab=2")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/probe/clinical?tab=2"]}


def test_it_refuses_a_signed_in_user_of_the_wrong_role(as_receptionist):
    response = as_receptionist.get("/probe/clinical")

    assert response.status_code == 403
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Not allowed" in html
    assert "clinical page" not in html


def test_it_lets_a_user_of_a_listed_role_in(as_clinician):
    response = as_clinician.get("/probe/clinical")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "clinical page"


def test_it_does_not_let_an_admin_in_unless_listed(as_admin):
    assert as_admin.get("/probe/clinical").status_code == 200
    assert as_admin.get("/probe/front-desk").status_code == 403


@pytest.mark.parametrize("roles", [("doctor",), ("admin", "superuser"), ()])
def test_it_refuses_unknown_or_missing_roles(roles):
    with pytest.raises(ValueError, match="role_required"):
        role_required(*roles)


def test_it_keeps_the_view_name(app):
    assert "probe.clinical" in app.view_functions
    assert app.view_functions["probe.clinical"].__name__ == "clinical"

"""/admin/kiosks (webapp/kiosk/views/admin.py): who may open it, registering (the address shown
once, only the token's hash kept), revoking, the audit log."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from webapp.audit.models import AuditLog
from webapp.extensions import db
from webapp.kiosk.models import Kiosk
from webapp.kiosk.services import find_active_kiosk

LIST = "/admin/kiosks"


def body_of(response) -> str:
    return response.get_data(as_text=True)


def kiosk_url_in(html: str) -> str:
    found = re.search(r'id="kiosk-url" type="text" readonly value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


@pytest.mark.parametrize(
    ("method", "path"), [("get", LIST), ("post", LIST), ("post", f"{LIST}/1/revoke")]
)
def test_anonymous_visitors_are_sent_to_sign_in(client, method, path):
    response = getattr(client, method)(path, data={"name": "Lobby"})

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
@pytest.mark.parametrize(
    ("method", "path"), [("get", LIST), ("post", LIST), ("post", f"{LIST}/1/revoke")]
)
def test_other_roles_are_refused(request, persona, method, path):
    client = request.getfixturevalue(persona)

    response = getattr(client, method)(path, data={"name": "Lobby"})

    assert response.status_code == 403
    assert db.session.scalars(select(Kiosk)).all() == []


def test_an_admin_sees_the_list_and_the_form(as_admin):
    response = as_admin.get(LIST)
    html = body_of(response)

    assert response.status_code == 200
    assert "Self check-in kiosks" in html and "No kiosk is registered yet." in html
    assert "Register kiosk" in html
    assert 'href="/admin/kiosks"' in html  # in the admin's navigation


def test_registering_shows_the_address_once_and_keeps_only_a_hash(as_admin, admin):
    response = as_admin.post(LIST, data={"name": "  Main   entrance "})
    html = body_of(response)

    assert response.status_code == 200
    url = kiosk_url_in(html)
    assert url.startswith("http://localhost/kiosk/")
    token = url.rsplit("/", 1)[1]
    kiosk = db.session.scalars(select(Kiosk)).one()
    assert kiosk.name == "Main entrance" and kiosk.created_by_id == admin.id
    assert kiosk.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(
        db.session.execute(select(Kiosk.__table__)).all()
    )  # the token itself is stored nowhere
    assert find_active_kiosk(token) == kiosk
    assert "shown only this once" in html
    # The list shown again never has the address.
    assert token not in body_of(as_admin.get(LIST))
    assert as_admin.get(url.removeprefix("http://localhost")).status_code == 200
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "kiosk.register"))
    assert (audit.user_id, audit.entity_id, audit.summary) == (
        admin.id,
        kiosk.id,
        "Registered kiosk Main entrance",
    )


def test_the_address_is_built_from_the_public_base_url_never_the_host_header(as_admin, app):
    app.config["PUBLIC_BASE_URL"] = "https://queue.example-hospital.org/hq"

    response = as_admin.post(LIST, data={"name": "Lobby"}, headers={"Host": "localhost:8123"})

    assert kiosk_url_in(body_of(response)).startswith(
        "https://queue.example-hospital.org/hq/kiosk/"
    )


@pytest.mark.parametrize(("name", "message"), [("   ", "Give the kiosk a name"), ("x" * 61, "")])
def test_a_blank_or_long_name_is_refused(as_admin, name, message):
    response = as_admin.post(LIST, data={"name": name})

    assert response.status_code == 422
    assert message in body_of(response)
    assert db.session.scalars(select(Kiosk)).all() == []


def test_revoking_stops_the_address_and_is_audited(as_admin, admin):
    url = kiosk_url_in(body_of(as_admin.post(LIST, data={"name": "Lobby"})))
    kiosk = db.session.scalars(select(Kiosk)).one()

    response = as_admin.post(f"{LIST}/{kiosk.id}/revoke", follow_redirects=True)

    html = body_of(response)
    assert response.status_code == 200
    assert "Kiosk Lobby is revoked" in html and "Revoked" in html
    assert db.session.get(Kiosk, kiosk.id).revoked_at is not None
    assert as_admin.get(url.removeprefix("http://localhost")).status_code == 404
    [audit] = db.session.scalars(select(AuditLog).where(AuditLog.action == "kiosk.revoke"))
    assert (audit.user_id, audit.entity_id) == (admin.id, kiosk.id)
    # Revoking again changes nothing more.
    as_admin.post(f"{LIST}/{kiosk.id}/revoke")
    assert (
        len(db.session.scalars(select(AuditLog).where(AuditLog.action == "kiosk.revoke")).all())
        == 1
    )


def test_revoking_an_unknown_kiosk_is_404(as_admin):
    assert as_admin.post(f"{LIST}/999/revoke").status_code == 404


def test_the_list_shows_last_use_and_status(as_admin, client):
    as_admin.post(LIST, data={"name": "Lobby"})
    kiosk = db.session.scalars(select(Kiosk)).one()

    html = body_of(as_admin.get(LIST))

    assert "Lobby" in html and "never" in html and "Active" in html
    assert f"/admin/kiosks/{kiosk.id}/revoke" in html

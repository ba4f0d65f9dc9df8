"""The audit side of the admin pages: what each change writes, and the audit log page
(webapp.audit_trail.views), which lists the queue's moves among the audit rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.admin.helpers import field_error, input_value, page_text
from tests.conftest import sign_in
from tests.factories import (
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
from webapp.audit.models import AuditLog
from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.extensions import db
from webapp.queue import moves

SECRET = "a very secret password"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "HOSPITAL_TIMEZONE": "America/New_York",
        "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
        "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
    }


# ------------------------------------------------------ every change is audited


@pytest.fixture
def world(app: Flask, admin: User) -> dict[str, Any]:
    department = DepartmentFactory(code="GM", name="General Medicine")
    objects = {
        "user": UserFactory(username="sam", role="receptionist"),
        "inactive": UserFactory(username="gone", active=False),
        "department": department,
        "point": ServicePointFactory(department=department, name="Room 1"),
        "inactive_point": ServicePointFactory(department=department, name="Room 2", active=False),
    }
    db.session.commit()
    return {name: value.id for name, value in objects.items()}


DEPARTMENT = {
    "code": "GM",
    "name": "General Medicine",
    "default_service_minutes": "20",
    "accepts_walk_ins": "y",
    "active": "y",
    "mon": "08:00-12:00",
}

ADMIN_CHANGES = [
    (
        "/admin/users/new",
        {
            "username": "nadia",
            "full_name": "Nadia N",
            "role": "clinician",
            "password": SECRET,
            "confirm": SECRET,
        },
        "user.create",
    ),
    ("/admin/users/{user}", {"full_name": "Sam Changed", "role": "receptionist"}, "user.update"),
    ("/admin/users/{user}", {"full_name": "Sam Staff", "role": "admin"}, "user.update"),
    ("/admin/users/{user}/deactivate", {}, "user.deactivate"),
    ("/admin/users/{inactive}/reactivate", {}, "user.activate"),
    (
        "/admin/users/{user}/password",
        {"password": SECRET, "confirm": SECRET},
        "user.password_reset",
    ),
    ("/admin/departments/new", {**DEPARTMENT, "code": "XR", "name": "X-ray"}, "department.create"),
    ("/admin/departments/{department}", DEPARTMENT, "department.update"),
    (
        "/admin/departments/{department}/service-points",
        {"new-name": "Room 9"},
        "service_point.create",
    ),
    ("/admin/service-points/{point}", {"sp{point}-name": "Room 1A"}, "service_point.update"),
    ("/admin/service-points/{point}/deactivate", {}, "service_point.update"),
    ("/admin/service-points/{inactive_point}/reactivate", {}, "service_point.update"),
]


def _change_rows() -> list[AuditLog]:
    return list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.action.not_like("auth.%")).order_by(AuditLog.id)
        )
    )


@pytest.mark.parametrize(
    ("url", "data", "action"), ADMIN_CHANGES, ids=[f"{a}:{u}" for u, _, a in ADMIN_CHANGES]
)
def test_it_writes_exactly_one_audit_row_per_admin_change(
    as_admin: FlaskClient,
    admin: User,
    world: dict[str, int],
    url: str,
    data: dict[str, str],
    action: str,
) -> None:
    form = {key.format(**world): value for key, value in data.items()}

    response = as_admin.post(url.format(**world), data=form)

    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    rows = _change_rows()
    assert [row.action for row in rows] == [action]
    row = rows[0]
    assert row.user_id == admin.id
    assert row.ip_address == "127.0.0.1"
    assert row.entity_id is not None
    stored = json.dumps(row.details) + row.summary
    assert SECRET not in stored
    assert "$2b$" not in stored
    for user in db.session.scalars(select(User)):
        assert user.password_hash not in stored


def test_it_writes_no_audit_row_for_a_refused_change(
    as_admin: FlaskClient, world: dict[str, int]
) -> None:
    as_admin.post(
        "/admin/users/new",
        data={
            "username": "x y",
            "full_name": "X",
            "role": "admin",
            "password": SECRET,
            "confirm": SECRET,
        },
    )
    as_admin.post(
        f"/admin/departments/{world['department']}/service-points", data={"new-name": "room 1"}
    )

    assert _change_rows() == []


# ---------------------------------------------------------------- the page


def _rows(body: str) -> list[str]:
    tbody = re.search(r"<tbody>(.*?)</tbody>", body, re.DOTALL)
    assert tbody is not None
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in re.findall(r"<tr>(.*?)</tr>", tbody.group(1), re.DOTALL)
    ]


def _record_at(moment: datetime, action: str, actor: User | None, summary: str) -> None:
    with time_machine.travel(moment, tick=False):
        record_audit(action, actor, summary=summary)
        db.session.flush()


@pytest.fixture
def history(app: Flask, admin: User) -> dict[str, User]:
    clerk = UserFactory(username="clerk", full_name="Clerk Kent", role="admin")
    db.session.flush()
    _record_at(datetime(2025, 1, 8, 15, 0, tzinfo=UTC), "user.create", admin, "summary-jan-8")
    # 03:00 UTC on 10 January is 22:00 on 9 January in New York.
    _record_at(datetime(2025, 1, 10, 3, 0, tzinfo=UTC), "department.create", admin, "summary-jan-9")
    _record_at(datetime(2025, 1, 10, 14, 0, tzinfo=UTC), "user.update", clerk, "summary-jan-10")
    _record_at(datetime(2025, 1, 12, 12, 0, tzinfo=UTC), "user.update", admin, "summary-jan-12")
    db.session.commit()
    return {"admin": admin, "clerk": clerk}


def _summaries_on(client: FlaskClient, query: dict[str, Any]) -> list[str]:
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    return re.findall(r"summary-jan-\d+", response.get_data(as_text=True))


def test_it_shows_the_audit_log_with_who_what_and_where(
    as_admin: FlaskClient, history: dict[str, User]
) -> None:
    body = page_text(as_admin.get("/admin/audit"))

    rows = _rows(body)
    jan_9 = next(row for row in rows if "summary-jan-9" in row)
    assert "2025-01-09 22:00" in jan_9  # shown in the hospital's time zone
    assert "ada" in jan_9 and "department.create" in jan_9
    login = next(row for row in rows if "auth.login" in row)
    assert "127.0.0.1" in login
    assert "Times in America/New_York" in body


def test_it_filters_the_audit_log_by_user(as_admin: FlaskClient, history: dict[str, User]) -> None:
    assert _summaries_on(as_admin, {"user_id": history["clerk"].id}) == ["summary-jan-10"]


def test_it_filters_the_audit_log_by_action(
    as_admin: FlaskClient, history: dict[str, User]
) -> None:
    assert _summaries_on(as_admin, {"action": "user.update"}) == [
        "summary-jan-12",
        "summary-jan-10",
    ]


def test_it_offers_the_actions_present_in_the_filter(
    as_admin: FlaskClient, history: dict[str, User]
) -> None:
    body = as_admin.get("/admin/audit").get_data(as_text=True)

    for action in ("user.create", "user.update", "department.create", "auth.login"):
        assert f'<option value="{action}">' in body
    assert '<option value="user.deactivate">' not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"date_from": "2025-01-09", "date_to": "2025-01-09"}, ["summary-jan-9"]),
        ({"date_from": "2025-01-10", "date_to": "2025-01-10"}, ["summary-jan-10"]),
        ({"date_from": "2025-01-09", "date_to": "2025-01-11"}, ["summary-jan-10", "summary-jan-9"]),
        ({"date_to": "2025-01-08"}, ["summary-jan-8"]),
        ({"date_from": "2025-01-11"}, ["summary-jan-12"]),
        (
            {"date_from": "2025-01-09", "action": "user.update"},
            ["summary-jan-12", "summary-jan-10"],
        ),
    ],
)
def test_it_filters_the_audit_log_by_dates_in_the_hospital_time_zone(
    as_admin: FlaskClient, history: dict[str, User], query: dict[str, str], expected: list[str]
) -> None:
    assert _summaries_on(as_admin, query) == expected


def test_it_says_when_nothing_matches(as_admin: FlaskClient, history: dict[str, User]) -> None:
    body = as_admin.get("/admin/audit", query_string={"date_from": "2030-01-01"}).get_data(
        as_text=True
    )

    assert "Nothing matches these filters." in body


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "not-a-date"},
        {"date_to": "2025-13-01"},
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"user_id": "99999"},
        {"user_id": "abc"},
        {"user_id": str(2**70)},
        {"action": "no.such.action"},
        {"entity_type": "nothing"},
        {"entity_id": "abc"},
        {"entity_id": "0"},
    ],
)
def test_it_answers_422_not_500_for_an_invalid_filter(
    as_admin: FlaskClient, history: dict[str, User], query: dict[str, str]
) -> None:
    response = as_admin.get("/admin/audit", query_string=query)

    assert response.status_code == 422
    assert "summary-jan" not in response.get_data(as_text=True)


def test_it_pages_the_audit_log_50_at_a_time(as_admin: FlaskClient, admin: User) -> None:
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    for number in range(60):
        _record_at(start + timedelta(minutes=number), "user.update", admin, f"row-{number:03d}")
    db.session.commit()
    query = {"action": "user.update"}

    first = as_admin.get("/admin/audit", query_string=query).get_data(as_text=True)

    first_rows = re.findall(r"row-\d{3}", first)
    assert len(first_rows) == 50
    assert first_rows[0] == "row-059" and first_rows[-1] == "row-010"
    older = re.search(r'<a href="([^"]+)">Older →</a>', first)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "page=2" in link and "action=user.update" in link
    assert "Page 1 of 2" in first
    assert "← Newer" not in first

    second = as_admin.get(link).get_data(as_text=True)

    assert re.findall(r"row-\d{3}", second) == [f"row-{n:03d}" for n in range(9, -1, -1)]
    assert "Older →" not in second
    assert "← Newer" in second


def test_it_shows_no_pager_for_a_single_page(
    as_admin: FlaskClient, history: dict[str, User]
) -> None:
    body = as_admin.get("/admin/audit").get_data(as_text=True)

    assert "Older →" not in body and "Page 1 of" not in body


@pytest.mark.parametrize("page", ["0", "-3", "abc"])
def test_it_treats_a_bad_page_number_as_the_first_page(
    as_admin: FlaskClient, history: dict[str, User], page: str
) -> None:
    response = as_admin.get("/admin/audit", query_string={"page": page})

    assert response.status_code == 200
    assert "summary-jan-12" in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["2", "1000000"])
def test_it_shows_an_empty_page_past_the_end(
    as_admin: FlaskClient, history: dict[str, User], page: str
) -> None:
    response = as_admin.get("/admin/audit", query_string={"page": page})

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "summary-jan" not in body and "Nothing matches these filters." in body
    assert "← Newer" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"user_id": " "}, 5),
        ({"action": "  ", "entity_type": " ", "entity_id": " "}, 5),
        ({"date_to": "9000-12-31"}, 5),
        ({"date_from": "9000-12-31"}, 0),
        ({"date_from": "0002-01-01", "date_to": "9000-12-31"}, 5),
        ({"entity_id": str(2**70)}, 0),
    ],
)
def test_it_answers_odd_but_valid_filters_without_an_error(
    as_admin: FlaskClient, history: dict[str, User], query: dict[str, str], expected: int
) -> None:
    response = as_admin.get("/admin/audit", query_string=query)

    assert response.status_code == 200
    rows = _rows(response.get_data(as_text=True))
    assert rows == ["Nothing matches these filters."] if expected == 0 else len(rows) == expected


def test_it_filters_by_entity_type_and_id(as_admin: FlaskClient, admin: User) -> None:
    record_audit("user.update", admin, entity_type="user", entity_id=7, summary="summary-jan-7")
    record_audit("patient.view", admin, entity_type="patient", entity_id=7, summary="summary-jan-8")
    record_audit("user.update", admin, entity_type="user", entity_id=9, summary="summary-jan-9")
    db.session.commit()

    assert _summaries_on(as_admin, {"entity_type": "user"}) == ["summary-jan-9", "summary-jan-7"]
    assert _summaries_on(as_admin, {"entity_type": "user", "entity_id": "7"}) == ["summary-jan-7"]
    assert _summaries_on(as_admin, {"entity_id": "7"}) == ["summary-jan-8", "summary-jan-7"]


def test_it_keeps_what_was_typed_in_the_filters(
    as_admin: FlaskClient, history: dict[str, User]
) -> None:
    query = {
        "action": "user.update",
        "user_id": str(history["clerk"].id),
        "entity_type": "user",
        "entity_id": "12",
        "date_from": "2025-01-02",
        "date_to": "2025-01-30",
    }

    body = as_admin.get("/admin/audit", query_string=query).get_data(as_text=True)

    assert '<option selected value="user.update">' in body
    assert f'<option selected value="{history["clerk"].id}">' in body
    assert '<option selected value="user">' in body
    assert input_value(body, "entity_id") == "12"
    assert input_value(body, "date_from") == "2025-01-02"
    assert input_value(body, "date_to") == "2025-01-30"


def test_it_keeps_what_was_typed_next_to_the_error(
    as_admin: FlaskClient, history: dict[str, User]
) -> None:
    body = as_admin.get(
        "/admin/audit", query_string={"entity_id": "twelve", "date_from": "2025-01-02"}
    ).get_data(as_text=True)

    assert field_error(body, "entity_id")
    assert input_value(body, "entity_id") == "twelve"
    assert input_value(body, "date_from") == "2025-01-02"


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_it_forbids_the_audit_log_to_other_roles(client: FlaskClient, role: str) -> None:
    user = UserFactory(role=role)
    db.session.commit()
    sign_in(client, user)

    assert client.get("/admin/audit").status_code == 403


def test_it_sends_anonymous_visitors_of_the_audit_log_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/admin/audit")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# ------------------------------------------------------------ queue moves on the page


def test_it_shows_queue_moves_with_their_actor_and_reason(
    as_admin: FlaskClient, clinician: User, receptionist: User
) -> None:
    department = DepartmentFactory(code="GM", name="General Medicine")
    room = ServicePointFactory(department=department, name="Room 1")
    patient = PatientFactory(first_name="Philomena", last_name="Quackenbush")
    db.session.commit()
    ticket = walk_in(department, patient, actor=receptionist)
    moves.call_next(service_point_id=room.id, actor=clinician)
    moves.transition_ticket(ticket.id, status="no_show", actor=clinician, reason="Not in the hall")
    db.session.commit()

    body = page_text(as_admin.get("/admin/audit", query_string={"entity_type": "ticket"}))

    rows = _rows(body)
    assert len(rows) == 3
    no_show = rows[0]
    assert "colin" in no_show and "queue.no_show" in no_show and f"ticket {ticket.id}" in no_show
    assert "GM-001: called → no_show at Room 1. Reason: Not in the hall" in no_show
    assert "rita" in rows[2] and "queue.check_in" in rows[2]
    assert "Philomena" not in body and "Quackenbush" not in body


def test_it_filters_the_page_by_a_queue_action(
    as_admin: FlaskClient, clinician: User, receptionist: User
) -> None:
    department = DepartmentFactory(code="GM")
    db.session.commit()
    walk_in(department, actor=receptionist)

    rows = _rows(page_text(as_admin.get("/admin/audit", query_string={"action": "queue.check_in"})))

    assert len(rows) == 1 and "queue.check_in" in rows[0] and "rita" in rows[0]

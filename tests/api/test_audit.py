"""GET /audit (admins) and GET /queue/{id}/history (staff): webapp/api/audit.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient

from tests.api.conftest import API, auth_header, detail_fields, error_of, token_pair
from tests.conftest import sign_in
from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, walk_in
from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.extensions import db
from webapp.queue import moves
from webapp.queue.models import Ticket

AUDIT = f"{API}/audit"
AUDIT_FIELDS = {
    "id",
    "at",
    "user_id",
    "username",
    "action",
    "entity_type",
    "entity_id",
    "summary",
    "ip",
}
HISTORY_FIELDS = {
    "id",
    "at",
    "action",
    "from_status",
    "to_status",
    "user_id",
    "service_point_id",
    "reason",
}
T0 = datetime(2025, 1, 10, 14, 0, tzinfo=UTC)  # 09:00 in New York


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "HOSPITAL_TIMEZONE": "America/New_York",
        "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
        "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
    }


def history_url(ticket_id: int) -> str:
    return f"{API}/queue/{ticket_id}/history"


@pytest.fixture
def tokens(client: FlaskClient, receptionist: User, clinician: User, admin: User) -> dict[str, str]:
    return {
        user.role: token_pair(client, user)["access_token"]
        for user in (receptionist, clinician, admin)
    }


@pytest.fixture
def ticket(receptionist: User, clinician: User) -> Ticket:
    """GM-001: checked in at 09:00 by rita, called to Room 1 at 09:10 by colin, no-show at 09:20."""
    department = DepartmentFactory(code="GM", name="General Medicine")
    room = ServicePointFactory(department=department, name="Room 1")
    patient = PatientFactory(first_name="Philomena", last_name="Quackenbush", phone="+442079460018")
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        ticket = walk_in(department, patient, actor=receptionist)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        moves.call_next(service_point_id=room.id, actor=clinician)
        db.session.commit()
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        moves.transition_ticket(
            ticket.id, status="no_show", actor=clinician, reason="Not in the waiting room"
        )
        db.session.commit()
    return ticket


def _get(client: FlaskClient, url: str, token: str, **query: Any) -> Any:
    return client.get(url, query_string=query, headers=auth_header(token))


# ------------------------------------------------------------------ access


@pytest.mark.parametrize("url", [AUDIT, history_url(1)])
def test_it_wants_a_token(client: FlaskClient, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("role", ["receptionist", "clinician"])
def test_it_refuses_the_audit_trail_to_non_admins(
    client: FlaskClient, tokens: dict[str, str], role: str
) -> None:
    response = _get(client, AUDIT, tokens[role], user_id="not-a-number")

    assert response.status_code == 403  # before validation: no 422 for the wrong role
    assert error_of(response)["code"] == "forbidden"


@pytest.mark.parametrize("role", ["receptionist", "clinician", "admin"])
def test_it_shows_a_tickets_history_to_all_staff(
    client: FlaskClient, tokens: dict[str, str], ticket: Ticket, role: str
) -> None:
    response = _get(client, history_url(ticket.id), tokens[role])

    assert response.status_code == 200
    assert response.get_json()["total"] == 3


def test_it_shows_the_audit_trail_to_admins(client: FlaskClient, tokens: dict[str, str]) -> None:
    response = _get(client, AUDIT, tokens["admin"])

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "total", "page", "per_page"}
    assert body["total"] == 3  # the three API sign-ins of the tokens fixture
    assert {item["action"] for item in body["items"]} == {"api.login"}


# ------------------------------------------------------------ GET /audit


def test_it_lists_queue_moves_with_actor_and_reason_newest_first(
    client: FlaskClient, tokens: dict[str, str], ticket: Ticket, clinician: User
) -> None:
    body = _get(client, AUDIT, tokens["admin"], entity_type="ticket").get_json()

    assert body["total"] == 3
    assert [item["action"] for item in body["items"]] == [
        "queue.no_show",
        "queue.call",
        "queue.check_in",
    ]
    no_show = body["items"][0]
    assert set(no_show) == AUDIT_FIELDS
    assert no_show["id"].startswith("queue-")
    assert no_show["at"] == "2025-01-10T14:20:00+00:00"
    assert (no_show["user_id"], no_show["username"]) == (clinician.id, "colin")
    assert (no_show["entity_type"], no_show["entity_id"]) == ("ticket", ticket.id)
    assert no_show["summary"] == (
        "Ticket GM-001: called → no_show at Room 1. Reason: Not in the waiting room"
    )
    assert no_show["ip"] is None
    for item in body["items"]:
        for fragment in ("Philomena", "Quackenbush", "2079460018"):
            assert fragment not in item["summary"]


def test_it_merges_audit_rows_and_queue_moves_with_unique_ids(
    client: FlaskClient, tokens: dict[str, str], ticket: Ticket
) -> None:
    body = _get(client, AUDIT, tokens["admin"], per_page=200).get_json()

    ids = [item["id"] for item in body["items"]]
    actions = {item["action"] for item in body["items"]}
    assert len(ids) == len(set(ids)) == body["total"] == 6
    assert {"api.login", "queue.call"} <= actions
    assert [item["at"] for item in body["items"]] == sorted(
        (item["at"] for item in body["items"]), reverse=True
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "queue.call"}, ["queue.call"]),
        ({"action": "api.login", "entity_type": "ticket"}, []),
        ({"entity_type": "ticket", "from": "2025-01-10", "to": "2025-01-10"}, None),
        ({"entity_type": "ticket", "from": "2025-01-11"}, []),
        ({"entity_type": "ticket", "to": "2025-01-09"}, []),
        ({"entity_type": "ticket", "to": "9999-12-31"}, None),
        ({"entity_type": "ticket", "from": "9999-12-31"}, []),
        ({"entity_type": "ticket", "from": "0001-01-01"}, None),
        ({"entity_type": "ticket", "from": "2025-01-12", "to": "2025-01-01"}, []),
        ({"user_id": 999_999}, []),
        ({"entity_id": 999_999}, []),
        ({"action": "no.such.action"}, []),
    ],
)
def test_it_filters_the_audit_trail(
    client: FlaskClient,
    tokens: dict[str, str],
    ticket: Ticket,
    query: dict[str, Any],
    expected: list[str] | None,
) -> None:
    every_move = ["queue.no_show", "queue.call", "queue.check_in"]

    response = _get(client, AUDIT, tokens["admin"], **query)

    assert response.status_code == 200
    listed = [item["action"] for item in response.get_json()["items"]]
    assert listed == (every_move if expected is None else expected)


def test_it_filters_by_user_and_entity(
    client: FlaskClient, tokens: dict[str, str], ticket: Ticket, receptionist: User
) -> None:
    by_rita = _get(client, AUDIT, tokens["admin"], user_id=receptionist.id).get_json()
    by_ticket = _get(
        client, AUDIT, tokens["admin"], entity_type="ticket", entity_id=ticket.id
    ).get_json()

    assert [i["action"] for i in by_rita["items"]] == ["api.login", "queue.check_in"]
    assert by_ticket["total"] == 3


def test_it_filters_rows_of_the_audit_log_by_entity(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    record_audit("patient.view", None, entity_type="patient", entity_id=5, summary="Viewed")
    record_audit("patient.view", None, entity_type="patient", entity_id=6, summary="Viewed")
    db.session.commit()

    body = _get(client, AUDIT, tokens["admin"], entity_type="patient", entity_id=5).get_json()

    assert [(i["entity_type"], i["entity_id"]) for i in body["items"]] == [("patient", 5)]
    assert body["items"][0]["id"].startswith("audit-")


def test_it_pages_the_audit_trail(
    client: FlaskClient, tokens: dict[str, str], ticket: Ticket
) -> None:
    everything = _get(client, AUDIT, tokens["admin"]).get_json()["items"]

    pages = [_get(client, AUDIT, tokens["admin"], page=n, per_page=4).get_json() for n in (1, 2, 3)]

    assert [p["page"] for p in pages] == [1, 2, 3] and pages[0]["per_page"] == 4
    assert [item for page in pages for item in page["items"]] == everything
    assert pages[2]["items"] == [] and pages[2]["total"] == 6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "not-a-date"}, "from"),
        ({"to": "2025-02-30"}, "to"),
        ({"user_id": "abc"}, "user_id"),
        ({"user_id": "0"}, "user_id"),
        ({"user_id": str(2**64)}, "user_id"),
        ({"entity_id": "-1"}, "entity_id"),
        ({"entity_id": " "}, "entity_id"),
        ({"page": "0"}, "page"),
        ({"page": str(2**70)}, "page"),
        ({"per_page": "201"}, "per_page"),
    ],
)
def test_it_answers_422_for_a_bad_filter(
    client: FlaskClient, tokens: dict[str, str], query: dict[str, str], field: str
) -> None:
    response = _get(client, AUDIT, tokens["admin"], **query)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert field in detail_fields(response)


# --------------------------------------------------- GET /queue/{id}/history


def test_it_gives_the_tickets_events_oldest_first(
    client: FlaskClient,
    tokens: dict[str, str],
    ticket: Ticket,
    receptionist: User,
    clinician: User,
) -> None:
    body = _get(client, history_url(ticket.id), tokens["clinician"]).get_json()

    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 50)
    items = body["items"]
    assert all(set(item) >= HISTORY_FIELDS for item in items)
    assert [(i["action"], i["from_status"], i["to_status"]) for i in items] == [
        ("check_in", None, "waiting"),
        ("call", "waiting", "called"),
        ("no_show", "called", "no_show"),
    ]
    assert [i["user_id"] for i in items] == [receptionist.id, clinician.id, clinician.id]
    assert items[0]["at"] == "2025-01-10T14:00:00+00:00"
    assert items[1]["service_point_id"] is not None
    assert items[2]["reason"] == "Not in the waiting room"


def test_it_pages_the_history(client: FlaskClient, tokens: dict[str, str], ticket: Ticket) -> None:
    second = _get(client, history_url(ticket.id), tokens["admin"], page=2, per_page=2).get_json()

    assert [i["action"] for i in second["items"]] == ["no_show"]
    assert (second["total"], second["page"], second["per_page"]) == (3, 2, 2)


@pytest.mark.parametrize("ticket_id", [999_999, 2**31, 2**64])
def test_it_answers_404_for_an_unknown_ticket(
    client: FlaskClient, tokens: dict[str, str], ticket: Ticket, ticket_id: int
) -> None:
    response = _get(client, history_url(ticket_id), tokens["receptionist"])

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# ------------------------------------------------------ one move, both doors


def test_a_queue_move_shows_on_the_page_and_in_the_api_alike(
    client: FlaskClient, admin: User, receptionist: User, tokens: dict[str, str]
) -> None:
    department = DepartmentFactory(code="EY", name="Eye clinic")
    db.session.commit()
    ticket = walk_in(department, actor=receptionist)
    moves.override_ticket(
        ticket.id, action="move_to_front", actor=receptionist, reason="Frail, long journey"
    )
    db.session.commit()

    api = _get(client, AUDIT, tokens["admin"], action="queue.move_to_front").get_json()
    sign_in(client, admin)
    page = client.get("/admin/audit", query_string={"action": "queue.move_to_front"})

    (item,) = api["items"]
    assert (item["username"], item["entity_id"]) == ("rita", ticket.id)
    assert item["summary"] == "Ticket EY-001: waiting → waiting. Reason: Frail, long journey"
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert item["summary"] in text.replace("&gt;", ">")
    assert "rita" in text


# ------------------------------------------------------------ the document


def test_it_documents_both_endpoints_with_their_fields(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    audit = document["paths"][AUDIT]["get"]
    history = document["paths"][f"{API}/queue/{{id}}/history"]["get"]

    assert {p["name"] for p in audit["parameters"]} >= {
        "action",
        "user_id",
        "entity_type",
        "entity_id",
        "from",
        "to",
        "page",
        "per_page",
    }
    assert "404" in history["responses"]
    assert set(schemas["AuditEntryOut"]["properties"]) >= AUDIT_FIELDS
    assert set(schemas["HistoryEntryOut"]["properties"]) >= HISTORY_FIELDS
    assert audit["security"] == history["security"] == [{"bearerAuth": []}]

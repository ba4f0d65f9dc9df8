"""Where a waiting ticket stands against its service target (webapp/queue/targets.py), read
from the clock: the at_risk and breached moments with time-machine, a changed target on a
ticket already waiting, no target once called, and the state wherever a ticket is shown (the
API's target_minutes / target_state, the board's rows and the workstation's next in line).

Every test runs on in-memory SQLite and on the migrated PostgreSQL test database.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask, request_started
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.api.conftest import auth_header, token_pair
from tests.conftest import (
    GENEROUS_LOGIN_LIMITS,
    _clear_request_globals,
    make_app,
    reset_postgres_schema,
    running_app,
    sign_in,
)
from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, walk_in
from tests.live.test_poll_queries import queries
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.departments.services import update_department
from webapp.extensions import db
from webapp.queue import moves
from webapp.queue.models import Ticket
from webapp.queue.state import queue_state
from webapp.queue.targets import TARGET_STATE_LABELS, TargetStatus, target_status

# A Monday morning; every ticket of a test is checked in at T unless it says otherwise.
T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
API = "/api/v1"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# The clock runs for an hour or more in these tests: sessions and tokens must outlive it.
LONG_SESSIONS: dict[str, Any] = {
    **GENEROUS_LOGIN_LIMITS,
    "SESSION_IDLE_MINUTES": 24 * 60,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=1),
    "ACCESS_TOKEN_MINUTES": 24 * 60,
}


def app_on_backend(request: pytest.FixtureRequest, config: dict[str, Any]) -> Iterator[Flask]:
    """The app in its app context on in-memory SQLite (``request.param == "sqlite"``), or on
    the freshly migrated PostgreSQL test database (skipped without TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        yield from running_app(**config)
        return
    from flask_migrate import upgrade

    url = request.getfixturevalue("postgres_url")
    reset_postgres_schema(url)
    application = make_app(SQLALCHEMY_DATABASE_URI=url, **config)
    request_started.connect(_clear_request_globals, application)
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()
    request_started.disconnect(_clear_request_globals, application)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(LONG_SESSIONS)


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Flask]:
    yield from app_on_backend(request, app_config)


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    """Frozen at T (autouse, so before anyone signs in or gets a token)."""
    with time_machine.travel(T, tick=False) as traveller:
        yield traveller


@pytest.fixture
def gm(app: Flask) -> Iterator[Department]:
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    yield department
    # SQLite's drop deletes row by row and would trip a transfer chain's RESTRICT key.
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


@pytest.fixture
def room(gm: Department) -> ServicePoint:
    point = ServicePointFactory(department=gm, name="Room 1")
    db.session.commit()
    return point


def at(clock: time_machine.Traveller, minutes: int = 0, seconds: int = 0) -> datetime:
    """Move the clock to T + the given time; the moment."""
    moment = T + timedelta(minutes=minutes, seconds=seconds)
    clock.move_to(moment)
    return moment


def fresh(ticket: Ticket) -> Ticket:
    db.session.expire_all()
    again = db.session.get(Ticket, ticket.id)
    assert again is not None
    return again


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# ------------------------------------------------------------ the transitions

# (priority, default target, at risk after, breached after): at risk at 80 % of the target.
PRIORITY_TARGETS = [
    ("routine", 60, timedelta(minutes=48), timedelta(minutes=60)),
    ("priority", 30, timedelta(minutes=24), timedelta(minutes=30)),
    ("urgent", 15, timedelta(minutes=12), timedelta(minutes=15)),
]


@pytest.mark.parametrize(
    ("minutes", "seconds", "expected"),
    [
        (0, 0, "ok"),
        (47, 59, "ok"),
        (48, 0, "at_risk"),
        (59, 59, "at_risk"),
        (60, 0, "at_risk"),  # at the target is still within it
        (60, 1, "breached"),
        (180, 0, "breached"),
    ],
)
def test_a_routine_ticket_turns_at_risk_at_48_minutes_and_breached_past_60(
    gm: Department, clock: time_machine.Traveller, minutes: int, seconds: int, expected: str
) -> None:
    ticket = walk_in(gm)
    assert ticket.checked_in_at == T

    now = at(clock, minutes, seconds)

    status = target_status(fresh(ticket), gm)
    assert status == TargetStatus(
        minutes=60,
        state=expected,
        at_risk_at=T + timedelta(minutes=48),
        breached_at=T + timedelta(minutes=60),
    )
    # The queue every screen reads carries the same reading, taken at its own moment.
    entry = queue_state(gm.id).positions[ticket.id]
    assert entry.target == status
    assert target_status(ticket, gm, now) == status


@pytest.mark.parametrize(("priority", "target", "risk", "breach"), PRIORITY_TARGETS)
def test_each_priority_turns_at_its_own_moments(
    gm: Department,
    clock: time_machine.Traveller,
    priority: str,
    target: int,
    risk: timedelta,
    breach: timedelta,
) -> None:
    ticket = walk_in(gm, priority=priority)
    second = timedelta(seconds=1)

    readings = {}
    for offset in (risk - second, risk, breach, breach + second):
        clock.move_to(T + offset)
        status = target_status(fresh(ticket), gm)
        assert status is not None and status.minutes == target
        readings[offset] = status.state

    assert list(readings.values()) == ["ok", "at_risk", "at_risk", "breached"]


def test_an_emergency_is_breached_one_second_after_check_in(
    gm: Department, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm, priority="emergency")

    at_check_in = target_status(fresh(ticket), gm)
    at(clock, seconds=1)
    a_second_later = target_status(fresh(ticket), gm)

    assert at_check_in == TargetStatus(0, "at_risk", T, T)  # 0 minutes: due at once
    assert a_second_later is not None and a_second_later.state == "breached"
    assert a_second_later.label == "Breached"


def test_the_states_have_words_for_the_screens() -> None:
    assert TARGET_STATE_LABELS == {"ok": "On time", "at_risk": "At risk", "breached": "Breached"}
    assert TargetStatus(60, "at_risk", T, T).label == "At risk"


def test_a_changed_target_applies_to_a_ticket_already_waiting(
    gm: Department, admin: User, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    at(clock, 20)
    before = target_status(fresh(ticket), gm)
    assert before is not None and (before.minutes, before.state) == (60, "ok")

    update_department(gm, actor=admin, wait_targets={"routine": 15})
    db.session.commit()

    after = target_status(fresh(ticket), gm)
    assert after == TargetStatus(
        15, "breached", T + timedelta(minutes=12), T + timedelta(minutes=15)
    )
    # And a longer target takes a breached ticket back within it.
    update_department(gm, actor=admin, wait_targets={"routine": 120})
    db.session.commit()
    relaxed = target_status(fresh(ticket), gm)
    assert relaxed is not None and (relaxed.minutes, relaxed.state) == (120, "ok")


def test_a_department_target_of_another_priority_leaves_this_one_alone(
    gm: Department, admin: User, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    update_department(gm, actor=admin, wait_targets={"urgent": 1})
    db.session.commit()
    at(clock, 30)

    status = target_status(fresh(ticket), gm)
    assert status is not None and (status.minutes, status.state) == (60, "ok")


def test_tickets_that_are_not_waiting_have_no_target(
    gm: Department, room: ServicePoint, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    at(clock, 90)  # long past the target while it waited
    waiting = target_status(fresh(ticket), gm)
    assert waiting is not None and waiting.state == "breached"

    readings = []
    for status in ("called", "in_service", "completed"):
        moves.transition_ticket(ticket.id, status=status, actor=None, service_point_id=room.id)
        db.session.commit()
        readings.append(target_status(fresh(ticket), gm))

    assert readings == [None, None, None]


@pytest.mark.parametrize("status", ["no_show", "cancelled"])
def test_tickets_that_left_the_queue_have_no_target(
    gm: Department, room: ServicePoint, clock: time_machine.Traveller, status: str
) -> None:
    ticket = walk_in(gm)
    if status == "no_show":
        moves.transition_ticket(ticket.id, status="called", actor=None, service_point_id=room.id)
    moves.transition_ticket(ticket.id, status=status, actor=None)
    db.session.commit()
    at(clock, 90)

    assert fresh(ticket).status == status
    assert target_status(fresh(ticket), gm) is None


def test_a_ticket_returned_to_the_queue_keeps_its_check_in_clock(
    gm: Department, room: ServicePoint, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    at(clock, 10)
    moves.transition_ticket(ticket.id, status="called", actor=None, service_point_id=room.id)
    db.session.commit()
    at(clock, 50)
    moves.transition_ticket(ticket.id, status="waiting", actor=None, reason="Not here yet")
    db.session.commit()

    status = target_status(fresh(ticket), gm)
    assert status == TargetStatus(60, "at_risk", T + timedelta(minutes=48), T + timedelta(hours=1))


def test_a_changed_priority_takes_its_target_counted_from_check_in(
    gm: Department, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    at(clock, 20)

    moves.apply_move(ticket.id, "set_priority", actor=None, priority="urgent", reason="Worse")
    db.session.commit()

    status = target_status(fresh(ticket), gm)
    assert status == TargetStatus(
        15, "breached", T + timedelta(minutes=12), T + timedelta(minutes=15)
    )


def test_a_transferred_patient_starts_the_new_departments_target_from_the_transfer(
    gm: Department, clock: time_machine.Traveller
) -> None:
    lab = DepartmentFactory(code="LAB", name="Laboratory", wait_targets={"routine": 30})
    db.session.commit()
    ticket = walk_in(gm)
    at(clock, 50)  # at risk in GM

    follow_up = moves.apply_move(
        ticket.id, "transfer", actor=None, department_id=lab.id, reason="Bloods first"
    )
    db.session.commit()

    assert target_status(fresh(ticket), gm) is None  # transferred: no longer waiting here
    status = target_status(fresh(follow_up), lab)
    assert status == TargetStatus(
        30, "ok", T + timedelta(minutes=50 + 24), T + timedelta(minutes=50 + 30)
    )


# ------------------------------------------------------------ the API's ticket


@pytest.fixture
def admin_api(client: FlaskClient, admin: User) -> dict[str, str]:
    return auth_header(str(token_pair(client, admin)["access_token"]))


@pytest.fixture
def desk_api(client: FlaskClient, receptionist: User) -> dict[str, str]:
    return auth_header(str(token_pair(client, receptionist)["access_token"]))


def _api_ticket(client: FlaskClient, headers: dict[str, str], ticket: Ticket) -> dict[str, Any]:
    response = client.get(f"{API}/queue/{ticket.id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def _api_current(client: FlaskClient, headers: dict[str, str], department: Department | int) -> Any:
    department_id = department if isinstance(department, int) else department.id
    response = client.get(
        f"{API}/queue/current", query_string={"department_id": department_id}, headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_check_in_answer_carries_the_target(
    client: FlaskClient, gm: Department, desk_api: dict[str, str]
) -> None:
    patients = [PatientFactory(), PatientFactory()]
    db.session.commit()

    routine = client.post(
        f"{API}/queue/check-in",
        json={"patient_id": patients[0].id, "department_id": gm.id},
        headers=desk_api,
    )
    emergency = client.post(
        f"{API}/queue/check-in",
        json={"patient_id": patients[1].id, "department_id": gm.id, "priority": "emergency"},
        headers=desk_api,
    )

    assert routine.status_code == 201 and emergency.status_code == 201
    assert (routine.json["target_minutes"], routine.json["target_state"]) == (60, "ok")
    assert (emergency.json["target_minutes"], emergency.json["target_state"]) == (0, "at_risk")


@pytest.mark.parametrize(
    ("minutes", "seconds", "expected"),
    [(47, 59, "ok"), (48, 0, "at_risk"), (60, 0, "at_risk"), (60, 1, "breached")],
)
def test_a_ticket_and_the_current_queue_give_the_state_read_at_the_answer(
    client: FlaskClient,
    gm: Department,
    admin_api: dict[str, str],
    clock: time_machine.Traveller,
    minutes: int,
    seconds: int,
    expected: str,
) -> None:
    ticket = walk_in(gm)
    at(clock, minutes, seconds)

    one = _api_ticket(client, admin_api, ticket)
    current = _api_current(client, admin_api, gm)

    assert (one["target_minutes"], one["target_state"]) == (60, expected)
    [listed] = current["waiting"]
    assert (listed["target_minutes"], listed["target_state"]) == (60, expected)


def test_the_api_answers_a_changed_target_for_a_ticket_already_waiting(
    client: FlaskClient, gm: Department, admin_api: dict[str, str], clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    at(clock, 20)
    assert _api_ticket(client, admin_api, ticket)["target_state"] == "ok"

    patched = client.patch(
        f"{API}/departments/{gm.id}", json={"wait_targets": {"routine": 15}}, headers=admin_api
    )
    assert patched.status_code == 200

    one = _api_ticket(client, admin_api, ticket)
    assert (one["target_minutes"], one["target_state"]) == (15, "breached")
    [listed] = _api_current(client, admin_api, gm)["waiting"]
    assert (listed["target_minutes"], listed["target_state"]) == (15, "breached")


def test_called_and_in_service_tickets_carry_null_targets_in_the_api(
    client: FlaskClient,
    gm: Department,
    room: ServicePoint,
    admin_api: dict[str, str],
    clock: time_machine.Traveller,
) -> None:
    second_room = ServicePointFactory(department=gm, name="Room 2")
    db.session.commit()
    called, serving, completed, waiting = (walk_in(gm) for _ in range(4))
    at(clock, 90)
    for status in ("called", "in_service", "completed"):
        moves.transition_ticket(completed.id, status=status, actor=None, service_point_id=room.id)
    moves.transition_ticket(called.id, status="called", actor=None, service_point_id=room.id)
    for status in ("called", "in_service"):
        moves.transition_ticket(
            serving.id, status=status, actor=None, service_point_id=second_room.id
        )
    db.session.commit()

    current = _api_current(client, admin_api, gm)

    assert [t["id"] for t in current["called"]] == [called.id]
    assert [t["id"] for t in current["in_service"]] == [serving.id]
    for shown in (*current["called"], *current["in_service"]):
        assert shown["target_minutes"] is None and shown["target_state"] is None
    [still_waiting] = current["waiting"]
    assert still_waiting["id"] == waiting.id and still_waiting["target_state"] == "breached"
    for ticket in (called, serving, completed):
        one = _api_ticket(client, admin_api, ticket)
        assert one["target_minutes"] is None and one["target_state"] is None, one["status"]


# ------------------------------------------------------------ the board and the workstation


def _row(body: str, ticket: Ticket) -> str:
    found = re.search(
        rf'<tr class="waiting-row[^"]*" data-ticket="{re.escape(ticket.number)}"[^>]*>.*?</tr>',
        body,
        re.DOTALL,
    )
    assert found is not None, f"no board row for {ticket.number}"
    return found.group(0)


def _tag(fragment: str) -> str:
    found = re.search(r'<span class="target-tag [^"]*".*?</span></span>', fragment, re.DOTALL)
    assert found is not None, "no target tag"
    return found.group(0)


def _words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.mark.parametrize(
    ("minutes", "seconds", "state", "word"),
    [
        (47, 59, "ok", "On time"),
        (48, 0, "at_risk", "At risk"),
        (60, 0, "at_risk", "At risk"),
        (60, 1, "breached", "Breached"),
    ],
)
def test_the_board_row_shows_the_state_in_words_and_colour_with_its_moments(
    as_receptionist: FlaskClient,
    gm: Department,
    clock: time_machine.Traveller,
    minutes: int,
    seconds: int,
    state: str,
    word: str,
) -> None:
    ticket = walk_in(gm)
    at(clock, minutes, seconds)

    row = _row(as_receptionist.get("/queue").get_data(as_text=True), ticket)

    assert f"target-row-{state}" in row
    tag = _tag(row)
    assert f'class="target-tag target-{state}"' in tag
    assert f'data-at-risk-at="{iso(T + timedelta(minutes=48))}"' in tag
    assert f'data-breached-at="{iso(T + timedelta(minutes=60))}"' in tag
    assert 'data-target-minutes="60"' in tag
    assert _words(tag) == f"{dict(ok='✓', at_risk='⏱', breached='⚠')[state]} {word} · target 1 h"
    for other in {"On time", "At risk", "Breached"} - {word}:
        assert other not in _words(row)


def test_the_polled_board_rows_carry_the_moments_for_the_browser(
    as_receptionist: FlaskClient, gm: Department, clock: time_machine.Traveller
) -> None:
    routine = walk_in(gm)
    at(clock, 5)
    urgent = walk_in(gm, priority="urgent")

    body = as_receptionist.get(
        "/queue/board-partial", query_string={"department_id": gm.id}
    ).get_data(as_text=True)

    routine_tag, urgent_tag = _tag(_row(body, routine)), _tag(_row(body, urgent))
    assert f'data-at-risk-at="{iso(T + timedelta(minutes=48))}"' in routine_tag
    assert f'data-breached-at="{iso(T + timedelta(minutes=60))}"' in routine_tag
    assert f'data-at-risk-at="{iso(T + timedelta(minutes=5 + 12))}"' in urgent_tag
    assert f'data-breached-at="{iso(T + timedelta(minutes=5 + 15))}"' in urgent_tag
    assert f'data-ticket-number="{urgent.number}"' in urgent_tag
    assert 'data-priority="Urgent"' in urgent_tag
    assert 'data-department="General Medicine"' in urgent_tag
    # The browser compares those moments with the server's clock, sent with the rows.
    assert f'data-now="{iso(T + timedelta(minutes=5))}"' in body


def test_the_board_shows_a_changed_target_at_once(
    as_receptionist: FlaskClient, gm: Department, admin: User, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    at(clock, 20)
    shown = as_receptionist.get("/queue/board-partial", query_string={"department_id": gm.id})
    assert "target-row-ok" in _row(shown.get_data(as_text=True), ticket)

    update_department(gm, actor=admin, wait_targets={"routine": 15})
    db.session.commit()
    # The change is a new version: the polling board gets new rows, not "unchanged".
    version = re.search(r'data-version="([^"]+)"', shown.get_data(as_text=True))
    assert version is not None
    again = as_receptionist.get(
        "/queue/board-partial", query_string={"department_id": gm.id, "version": version[1]}
    )

    assert again.status_code == 200
    row = _row(again.get_data(as_text=True), ticket)
    assert "target-row-breached" in row and "Breached" in _words(row)
    assert f'data-breached-at="{iso(T + timedelta(minutes=15))}"' in row
    assert "target 15 min" in _words(row)


def test_the_all_departments_board_reads_each_row_against_its_own_department(
    as_receptionist: FlaskClient, gm: Department, clock: time_machine.Traveller
) -> None:
    lab = DepartmentFactory(code="LAB", name="Laboratory", wait_targets={"routine": 20})
    db.session.commit()
    in_gm, in_lab = walk_in(gm), walk_in(lab)
    at(clock, 30)

    body = as_receptionist.get("/queue/board-partial").get_data(as_text=True)

    gm_tag, lab_tag = _tag(_row(body, in_gm)), _tag(_row(body, in_lab))
    assert "target-ok" in gm_tag and 'data-department="General Medicine"' in gm_tag
    assert "target-breached" in lab_tag and 'data-department="Laboratory"' in lab_tag
    assert f'data-breached-at="{iso(T + timedelta(minutes=20))}"' in lab_tag


def test_called_tickets_show_no_target_on_the_board(
    as_receptionist: FlaskClient, gm: Department, room: ServicePoint, clock: time_machine.Traveller
) -> None:
    ticket = walk_in(gm)
    at(clock, 90)
    moves.transition_ticket(ticket.id, status="called", actor=None, service_point_id=room.id)
    db.session.commit()

    body = as_receptionist.get("/queue").get_data(as_text=True)

    assert ticket.number in body
    assert "target-tag" not in body and "data-breached-at" not in body


@pytest.fixture
def at_room(client: FlaskClient, clinician: User, room: ServicePoint) -> FlaskClient:
    sign_in(client, clinician)
    chosen = client.post("/workstation/service-point", data={"service_point_id": room.id})
    assert chosen.status_code == 302
    return client


def _next_item(body: str, ticket: Ticket) -> str:
    found = re.search(
        rf'<li data-ticket="{re.escape(ticket.number)}" data-target-row[^>]*>.*?</li>',
        body,
        re.DOTALL,
    )
    assert found is not None, f"{ticket.number} is not in the next-in-line list"
    return found.group(0)


@pytest.mark.parametrize(
    ("minutes", "seconds", "state", "word"),
    [(47, 59, "ok", "On time"), (48, 0, "at_risk", "At risk"), (60, 1, "breached", "Breached")],
)
def test_the_workstations_next_in_line_shows_the_state_and_its_moments(
    at_room: FlaskClient,
    gm: Department,
    clock: time_machine.Traveller,
    minutes: int,
    seconds: int,
    state: str,
    word: str,
) -> None:
    ticket = walk_in(gm)
    at(clock, minutes, seconds)

    for page in ("/workstation", "/workstation/live"):
        item = _next_item(at_room.get(page).get_data(as_text=True), ticket)
        assert f'class="target-row-{state}"' in item, page
        tag = _tag(item)
        assert f"target-tag target-{state}" in tag
        assert f'data-at-risk-at="{iso(T + timedelta(minutes=48))}"' in tag
        assert f'data-breached-at="{iso(T + timedelta(minutes=60))}"' in tag
        assert word in _words(tag)


def test_the_workstation_watches_the_rest_of_the_queue_for_breaches(
    at_room: FlaskClient, gm: Department, clock: time_machine.Traveller
) -> None:
    tickets = [walk_in(gm) for _ in range(5)]
    at(clock, 61)

    body = at_room.get("/workstation/live").get_data(as_text=True)

    shown = [t for t in tickets if f'<li data-ticket="{t.number}"' in body]
    assert len(shown) == 3  # the next three are drawn
    watch = re.search(r'<div class="target-watch" hidden>(.*?)</div>', body, re.DOTALL)
    assert watch is not None
    for ticket in tickets[3:]:
        assert f'data-ticket-number="{ticket.number}"' in watch.group(1)
    assert watch.group(1).count("target-tag target-breached") == 2


# ------------------------------------------------------------ what it costs


def _waiting_department(code: str, waiting: int) -> Department:
    department = DepartmentFactory(code=code, name=f"Department {code}")
    ServicePointFactory(department=department, name="Room 1")
    db.session.commit()
    priorities = ("routine", "urgent", "priority", "emergency")
    for index in range(waiting):
        walk_in(department, priority=priorities[index % len(priorities)])
    return department


@pytest.fixture
def short_and_long(app: Flask, admin: User, clock: time_machine.Traveller) -> Iterator[Any]:
    """SHRT with 3 waiting and LONG with 30, their targets changed after some waited a while
    (so rows of every state are drawn): {waiting: department id}."""
    departments = {3: _waiting_department("SHRT", 3), 30: _waiting_department("LONG", 30)}
    at(clock, 25)
    for department in departments.values():
        update_department(
            department, actor=admin, wait_targets={"routine": 30, "priority": 20, "urgent": 10}
        )
    db.session.commit()
    yield {waiting: department.id for waiting, department in departments.items()}
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


def test_the_board_rows_cost_the_same_however_long_the_queue(
    as_receptionist: FlaskClient, short_and_long: dict[int, int]
) -> None:
    as_receptionist.get("/queue/board-partial")  # whatever a first request loads once
    counts = {}
    for waiting, department_id in short_and_long.items():
        with queries() as seen:
            rows = as_receptionist.get(
                "/queue/board-partial", query_string={"department_id": department_id}
            )
        assert rows.status_code == 200
        body = rows.get_data(as_text=True)
        assert body.count('class="target-tag target-') == waiting
        assert 'data-target-minutes="30"' in body  # the changed routine target
        counts[waiting] = len(seen)
    assert counts[3] == counts[30], counts


def test_the_current_queue_costs_the_same_however_long_the_queue(
    client: FlaskClient, admin_api: dict[str, str], short_and_long: dict[int, int]
) -> None:
    _api_current(client, admin_api, short_and_long[3])  # whatever a first request loads once
    counts = {}
    for waiting, department_id in short_and_long.items():
        with queries() as seen:
            body = _api_current(client, admin_api, department_id)
        assert len(body["waiting"]) == waiting
        states = {ticket["priority"]: ticket["target_state"] for ticket in body["waiting"]}
        # At T+25: routine (30) at risk, priority (20) and urgent (10) breached, emergency too.
        assert states["routine"] == "at_risk" and states["urgent"] == "breached"
        counts[waiting] = len(seen)
    assert counts[3] == counts[30], counts

"""Current service-target breaches: ``current_breaches`` (webapp/queue/targets.py), the
``/queue/breaches`` fragment (webapp/queue/views/breaches.py, templates/queue/_breaches.html)
that refreshes itself, and its place on the admin dashboard.

Every test runs on in-memory SQLite and on migrated PostgreSQL.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, walk_in
from tests.live.test_poll_queries import queries
from tests.queue.test_targets import BACKENDS, LONG_SESSIONS, T, app_on_backend
from webapp.clock import local_time
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.queue import moves
from webapp.queue.models import Ticket
from webapp.queue.targets import current_breaches
from webapp.queue.views.breaches import breaches
from webapp.session_guard import POLLED_ATTRIBUTE

FRAGMENT = "/queue/breaches"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(LONG_SESSIONS)


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Flask]:
    yield from app_on_backend(request, app_config)


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T, tick=False) as traveller:
        yield traveller


def at(clock: time_machine.Traveller, minutes: int, seconds: int = 0) -> None:
    clock.move_to(T + timedelta(minutes=minutes, seconds=seconds))


@dataclass
class Hospital:
    gm: Department
    lab: Department
    ed: Department  # inactive by the time the test looks
    routine: Ticket  # GM, in at T: breaches at T+60
    urgent: Ticket  # GM, in at T+40: breaches at T+55
    priority: Ticket  # LAB, in at T+10: breaches at T+40
    within: Ticket  # GM, in at T+60: routine, on time
    called: Ticket  # GM, in at T, called at T+65: no longer waiting
    closed: Ticket  # ED, emergency in at T: breached, but its department is inactive


@pytest.fixture
def hospital(app: Flask, clock: time_machine.Traveller) -> Iterator[Hospital]:
    """At T+70: three breaches (LAB's at T+40, GM's urgent at T+55, GM's routine at T+60),
    one ticket on time, one called, and one breach in a department since deactivated."""
    gm = DepartmentFactory(code="GM", name="General Medicine")
    lab = DepartmentFactory(code="LAB", name="Laboratory")
    ed = DepartmentFactory(code="ED", name="Emergency Department")
    room = ServicePointFactory(department=gm, name="Room 1")
    db.session.commit()
    routine = walk_in(gm, PatientFactory(first_name="Rosalind", last_name="Franklin"))
    called = walk_in(gm, PatientFactory(first_name="Carl", last_name="Linnaeus"))
    closed = walk_in(ed, PatientFactory(first_name="Edith", last_name="Cavell"), "emergency")
    at(clock, 10)
    priority = walk_in(lab, PatientFactory(first_name="Pierre", last_name="Curie"), "priority")
    at(clock, 40)
    urgent = walk_in(gm, PatientFactory(first_name="Ursula", last_name="Franklin"), "urgent")
    at(clock, 60)
    within = walk_in(gm, PatientFactory(first_name="Wilma", last_name="Mankiller"))
    at(clock, 65)
    moves.transition_ticket(called.id, status="called", actor=None, service_point_id=room.id)
    ed.active = False
    db.session.commit()
    at(clock, 70)
    yield Hospital(gm, lab, ed, routine, urgent, priority, within, called, closed)
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


NAMES = ("Rosalind", "Carl", "Edith", "Pierre", "Ursula", "Wilma", "Franklin", "Curie")


def _breached_numbers(body: str) -> list[str]:
    return re.findall(r'<tr data-breach="([^"]+)">', body)


def _rows(body: str) -> dict[str, str]:
    found = re.findall(r'<tr data-breach="([^"]+)">(.*?)</tr>', body, re.DOTALL)
    return {
        number: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
        for number, row in found
    }


# ------------------------------------------------------------ current_breaches


def test_it_lists_waiting_tickets_past_their_target_across_departments_longest_over_first(
    hospital: Hospital,
) -> None:
    h = hospital

    found = current_breaches([h.gm, h.lab, h.ed])

    assert [b.ticket.id for b in found] == [h.closed.id, h.priority.id, h.urgent.id, h.routine.id]
    assert [b.status.breached_at for b in found] == [
        T,
        T + timedelta(minutes=40),
        T + timedelta(minutes=55),
        T + timedelta(minutes=60),
    ]
    assert [b.minutes_over for b in found] == [70, 30, 15, 10]
    assert [b.department.code for b in found] == ["ED", "LAB", "GM", "GM"]
    assert [b.priority_label for b in found] == ["Emergency", "Priority", "Urgent", "Routine"]
    assert {b.status.state for b in found} == {"breached"}


def test_it_looks_only_in_the_departments_it_is_given(hospital: Hospital) -> None:
    assert [b.ticket.id for b in current_breaches([hospital.gm])] == [
        hospital.urgent.id,
        hospital.routine.id,
    ]
    assert current_breaches([]) == []


def test_minutes_over_count_whole_minutes_from_the_breach(
    hospital: Hospital, clock: time_machine.Traveller
) -> None:
    at(clock, 60, seconds=1)  # one second past the routine ticket's hour
    assert [b.minutes_over for b in current_breaches([hospital.gm])] == [5, 0]
    at(clock, 60, seconds=59)  # not yet a whole minute over: not rounded up
    assert [b.minutes_over for b in current_breaches([hospital.gm])] == [5, 0]
    at(clock, 61)
    assert [b.minutes_over for b in current_breaches([hospital.gm])] == [6, 1]


def test_nobody_is_breached_before_the_first_target_passes(
    hospital: Hospital, clock: time_machine.Traveller
) -> None:
    at(clock, 30)  # before the LAB ticket's 40 (it checked in at 10 with a 30-minute target)

    assert current_breaches([hospital.gm, hospital.lab]) == []


def test_a_ticket_called_stops_being_a_breach(hospital: Hospital) -> None:
    moves.transition_ticket(
        hospital.urgent.id,
        status="called",
        actor=None,
        service_point_id=ServicePointFactory(department=hospital.gm, name="Room 2").id,
    )
    db.session.commit()

    assert [b.ticket.id for b in current_breaches([hospital.gm])] == [hospital.routine.id]


# ------------------------------------------------------------ the fragment: who may


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, hospital: Hospital) -> None:
    response = client.get(FRAGMENT)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_an_anonymous_poll_sends_the_whole_tab_to_sign_in(
    client: FlaskClient, hospital: Hospital
) -> None:
    response = client.get(FRAGMENT, headers=HTMX)

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert "data-breach" not in response.get_data(as_text=True)


def test_clinicians_may_not_read_it(as_clinician: FlaskClient, hospital: Hospital) -> None:
    response = as_clinician.get(FRAGMENT)

    assert response.status_code == 403
    assert "data-breach" not in response.get_data(as_text=True)


@pytest.mark.parametrize("persona", ["as_receptionist", "as_admin"])
def test_the_front_desk_reads_the_breached_ticket_numbers(
    request: pytest.FixtureRequest, hospital: Hospital, persona: str
) -> None:
    staff: FlaskClient = request.getfixturevalue(persona)
    h = hospital

    response = staff.get(FRAGMENT)

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    # Active departments only, longest over first; nobody on time, called or elsewhere.
    assert _breached_numbers(body) == [h.priority.number, h.urgent.number, h.routine.number]
    assert h.within.number not in body and h.called.number not in body
    assert h.closed.number not in body and "Emergency Department" not in body


def test_each_row_says_where_which_priority_since_when_the_target_and_how_far_over(
    as_admin: FlaskClient, hospital: Hospital
) -> None:
    rows = _rows(as_admin.get(FRAGMENT).get_data(as_text=True))

    def checked_in(minutes: int) -> str:  # in the hospital's zone
        return local_time(T + timedelta(minutes=minutes))

    # Ticket, department, priority, checked in, target, over by.
    h = hospital
    assert rows == {
        h.priority.number: f"{h.priority.number} Laboratory Priority {checked_in(10)} "
        "30 min 30 min",
        h.urgent.number: f"{h.urgent.number} General Medicine Urgent {checked_in(40)} "
        "15 min 15 min",
        h.routine.number: f"{h.routine.number} General Medicine Routine {checked_in(0)} 1 h 10 min",
    }


def test_it_shows_ticket_numbers_not_patients(as_admin: FlaskClient, hospital: Hospital) -> None:
    text = html.unescape(as_admin.get(FRAGMENT).get_data(as_text=True))

    for name in NAMES:
        assert name not in text


def test_it_links_each_breach_to_its_departments_board(
    as_receptionist: FlaskClient, hospital: Hospital
) -> None:
    body = as_receptionist.get(FRAGMENT).get_data(as_text=True)

    assert f'href="/queue?department_id={hospital.lab.id}">Laboratory</a>' in body
    assert f'href="/queue?department_id={hospital.gm.id}">General Medicine</a>' in body


def test_it_counts_the_breaches_in_its_heading(
    as_receptionist: FlaskClient, hospital: Hospital
) -> None:
    body = as_receptionist.get(FRAGMENT).get_data(as_text=True)

    heading = re.search(r'<h2 id="breaches-heading">(.*?)</h2>', body, re.DOTALL)
    assert heading is not None
    assert " ".join(re.sub(r"<[^>]+>", " ", heading.group(1)).split()) == "Waiting past target 3"


def test_it_says_so_when_nobody_is_past_target(
    as_receptionist: FlaskClient, hospital: Hospital, clock: time_machine.Traveller
) -> None:
    at(clock, 30)

    body = as_receptionist.get(FRAGMENT).get_data(as_text=True)

    assert "Nobody is waiting past their service target." in body
    assert "data-breach" not in body and "badge" not in body


def test_it_follows_the_clock_without_any_queue_change(
    as_receptionist: FlaskClient, hospital: Hospital, clock: time_machine.Traveller
) -> None:
    at(clock, 54)
    before = _breached_numbers(as_receptionist.get(FRAGMENT).get_data(as_text=True))
    at(clock, 55, seconds=1)
    after = _breached_numbers(as_receptionist.get(FRAGMENT).get_data(as_text=True))

    assert before == [hospital.priority.number]
    assert after == [hospital.priority.number, hospital.urgent.number]


def test_a_poll_gets_the_same_fragment_which_refreshes_itself(
    as_receptionist: FlaskClient, hospital: Hospital
) -> None:
    plain = as_receptionist.get(FRAGMENT)
    polled = as_receptionist.get(FRAGMENT, headers=HTMX)

    assert polled.status_code == 200
    body = polled.get_data(as_text=True)
    assert body == plain.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="target-breaches"')
    assert "<html" not in body  # a fragment, not a page
    section = re.search(r"<section[^>]*>", body)
    assert section is not None
    assert 'hx-get="/queue/breaches"' in section.group(0)
    assert 'hx-trigger="every 30s"' in section.group(0)
    assert 'hx-swap="outerHTML"' in section.group(0)


def test_its_polls_do_not_keep_a_session_alive() -> None:
    view: Any = breaches
    flags = []
    while view is not None:
        flags.append(getattr(view, POLLED_ATTRIBUTE, False))
        view = getattr(view, "__wrapped__", None)
    assert any(flags)


def test_its_answer_is_never_cached(as_receptionist: FlaskClient, hospital: Hospital) -> None:
    assert as_receptionist.get(FRAGMENT).headers["Cache-Control"] == "no-store"


# ------------------------------------------------------------ on the admin dashboard


def test_the_admin_dashboard_lists_the_current_breaches(
    as_admin: FlaskClient, hospital: Hospital
) -> None:
    response = as_admin.get("/")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert '<section id="target-breaches"' in body
    assert _breached_numbers(body) == [
        hospital.priority.number,
        hospital.urgent.number,
        hospital.routine.number,
    ]


def test_the_admin_dashboard_says_when_nobody_is_past_target(
    as_admin: FlaskClient, hospital: Hospital, clock: time_machine.Traveller
) -> None:
    at(clock, 30)

    body = as_admin.get("/").get_data(as_text=True)

    assert '<section id="target-breaches"' in body
    assert "Nobody is waiting past their service target." in body


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
def test_other_dashboards_do_not_carry_the_list(
    request: pytest.FixtureRequest, hospital: Hospital, persona: str
) -> None:
    body = request.getfixturevalue(persona).get("/").get_data(as_text=True)

    assert 'id="target-breaches"' not in body


# ------------------------------------------------------------ what it costs


def _breached_walk_ins(department_ids: list[int], count: int) -> None:
    """``count`` urgent walk-ins, spread over the departments, checked in at T (past their
    15 minutes by T+20)."""
    departments = [db.session.get(Department, id_) for id_ in department_ids]
    for index in range(count):
        department = departments[index % len(departments)]
        assert department is not None
        ticket = walk_in(department, priority="urgent")
        ticket.checked_in_at = T
    db.session.commit()


def test_the_fragment_costs_the_same_however_many_breaches(
    as_receptionist: FlaskClient, app: Flask, clock: time_machine.Traveller
) -> None:
    departments = [DepartmentFactory(code=code) for code in ("GM", "LAB", "XR")]
    db.session.commit()
    department_ids = [department.id for department in departments]
    at(clock, 20)
    _breached_walk_ins(department_ids, 3)
    as_receptionist.get(FRAGMENT)  # whatever a first request loads once
    counts = {}
    for breached in (3, 30):
        if breached == 30:
            _breached_walk_ins(department_ids, 27)
        with queries() as seen:
            body = as_receptionist.get(FRAGMENT).get_data(as_text=True)
        assert len(_breached_numbers(body)) == breached
        counts[breached] = len(seen)
    assert counts[3] == counts[30], counts

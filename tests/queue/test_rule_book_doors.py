"""The rule book × every role × every door, from one definition.

For each move of webapp.queue.rules and each role, through each door that offers the
move — the board's row menu, the clinician workstation, the JSON API — the move happens
exactly when the rule book (and the door's own page roles) allow it; otherwise nothing
changes and the door refuses. The screens also *offer* a move (a menu entry, an enabled
button) exactly when it would be allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tests.conftest import sign_in
from tests.factories import (
    DEFAULT_PASSWORD,
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
)
from webapp.auth.models import ROLES, User
from webapp.auth.roles import CLINICAL, STAFF
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.queue import moves
from webapp.queue.models import QueueEvent, Ticket
from webapp.queue.rules import MOVES, Move, role_refusal
from webapp.queue.views.board import BOARD_MOVES
from webapp.queue.views.workstation import BUTTONS

API = "/api/v1/queue"


@dataclass
class World:
    gm: Department
    lab: Department
    room1: ServicePoint
    room2: ServicePoint
    users: dict[str, User]


@pytest.fixture
def world(app: Flask) -> Iterator[World]:
    gm = DepartmentFactory(code="GM", name="General Medicine")
    lab = DepartmentFactory(code="LAB", name="Laboratory")
    room1 = ServicePointFactory(department=gm, name="Room 1")
    room2 = ServicePointFactory(department=gm, name="Room 2")
    users = {role: UserFactory(role=role, username=f"door-{role}") for role in ROLES}
    db.session.commit()
    yield World(gm, lab, room1, room2, users)
    db.session.rollback()  # SQLite's drop_all trips over transfer chains (RESTRICT key)
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


def ticket_ready_for(
    world: World, move: Move, *, at_room: bool = False, room: ServicePoint | None = None
) -> Ticket:
    """A GM ticket in a status the move starts from, made by the system itself.

    ``at_room``: a status with a room if the move has one (the workstation serves only its
    room's current patient). A called or in-service ticket is at ``room`` (Room 1).
    """
    ticket = moves.check_in(actor=None, patient_id=PatientFactory().id, department_id=world.gm.id)
    with_room = [status for status in move.from_statuses if status in ("called", "in_service")]
    status = with_room[0] if at_room and with_room else move.from_statuses[0]
    if status in ("called", "in_service"):
        moves.transition_ticket(
            ticket.id, status="called", actor=None, service_point_id=(room or world.room1).id
        )
    if status == "in_service":
        moves.transition_ticket(ticket.id, status="in_service", actor=None)
    db.session.commit()
    assert ticket.status == status
    return ticket


# What each move needs besides the ticket, as the API names the fields.
def move_fields(world: World, move: Move) -> dict[str, Any]:
    return {
        "reason": "a reason for the record",
        "service_point_id": world.room2.id if move.name == "assign" else world.room1.id,
        "priority": "urgent",
        "department_id": world.lab.id,
    }


# ------------------------------------------------------------------- the doors


@dataclass(frozen=True)
class Door:
    name: str
    page_roles: tuple[str, ...]  # who may open the door at all
    offers: Callable[[Move], bool]
    make: Callable[[FlaskClient, World, User, Ticket, Move], int]  # -> HTTP status


def _board(client: FlaskClient, world: World, user: User, ticket: Ticket, move: Move) -> int:
    sign_in(client, user)
    fields = move_fields(world, move)
    response = client.post(f"/queue/tickets/{ticket.id}/move", data={"move": move.name, **fields})
    return response.status_code


def _workstation(client: FlaskClient, world: World, user: User, ticket: Ticket, move: Move) -> int:
    sign_in(client, user)
    chosen = client.post("/workstation/service-point", data={"service_point_id": world.room1.id})
    if chosen.status_code == 403:
        return 403
    button = next(button for button in BUTTONS if button.move == move.name)
    if move.name == "transfer":
        data = {"ticket_id": ticket.id, "department_id": world.lab.id, "reason": "lab work"}
        return client.post("/workstation/transfer", data=data).status_code
    return client.post(f"/workstation/{button.action}", data={"ticket_id": ticket.id}).status_code


def _api(client: FlaskClient, world: World, user: User, ticket: Ticket, move: Move) -> int:
    login = client.post(
        "/api/v1/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    fields = move_fields(world, move)
    if move.name in moves.OVERRIDE_ACTIONS:
        body = {"ticket_id": ticket.id, "action": move.name, **fields}
        return client.post(f"{API}/override", json=body, headers=headers).status_code
    status = move.to_status
    body = {"status": status, "service_point_id": world.room1.id, "reason": fields["reason"]}
    return client.patch(f"{API}/{ticket.id}/status", json=body, headers=headers).status_code


DOORS = (
    Door("board", STAFF, lambda move: move.name in BOARD_MOVES, _board),
    Door(
        "workstation",
        CLINICAL,
        lambda move: any(b.move == move.name for b in BUTTONS),
        _workstation,
    ),
    Door("api", STAFF, lambda move: True, _api),
)

WALK = [
    pytest.param(door, move, role, id=f"{door.name}-{move.name}-{role}")
    for door in DOORS
    for move in MOVES.values()
    if door.offers(move)
    for role in ROLES
]


def _events(ticket_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(QueueEvent).where(QueueEvent.ticket_id == ticket_id)
        )
        or 0
    )


@pytest.mark.parametrize(("door", "move", "role"), WALK)
def test_a_door_makes_a_move_exactly_when_the_rule_book_allows_it(
    client: FlaskClient, world: World, door: Door, move: Move, role: str
) -> None:
    ticket = ready = ticket_ready_for(world, move, at_room=door.name == "workstation")
    before = (
        ready.status,
        ready.priority,
        ready.queue_key,
        ready.service_point_id,
        _events(ready.id),
    )

    status = door.make(client, world, world.users[role], ticket, move)

    db.session.rollback()
    ticket = db.session.get(Ticket, ready.id)
    assert ticket is not None
    after = (
        ticket.status,
        ticket.priority,
        ticket.queue_key,
        ticket.service_point_id,
        _events(ticket.id),
    )
    allowed = move.allows_role(role) and role in door.page_roles
    if allowed:
        assert status in (200, 302), status
        assert _events(ticket.id) == before[-1] + 1, "the move wrote its one event"
        last = db.session.scalar(
            select(QueueEvent)
            .where(QueueEvent.ticket_id == ticket.id)
            .order_by(QueueEvent.id.desc())
            .limit(1)
        )
        assert last is not None and last.action == move.event
        assert last.user_id == world.users[role].id
    else:
        assert after == before, "a refused move changes nothing"
        if door.name == "api" or role not in door.page_roles:
            assert status == 403
        else:  # the page door flashes the rule book's refusal and goes back to the page
            assert status == 302
            refusal = role_refusal(move, role)
            assert refusal is not None
            assert refusal in client.get("/queue").get_data(as_text=True)


def test_every_move_is_walked_through_at_least_one_door() -> None:
    walked = {move.name for door in DOORS for move in MOVES.values() if door.offers(move)}
    assert walked == set(MOVES)


@pytest.mark.parametrize("role", ROLES)
def test_the_board_menu_offers_exactly_the_allowed_moves(
    client: FlaskClient, world: World, role: str
) -> None:
    tickets = {
        "waiting": ticket_ready_for(world, MOVES["skip"]),
        "called": ticket_ready_for(world, MOVES["recall"], room=world.room1),
        "in_service": ticket_ready_for(world, MOVES["complete"], room=world.room2),
    }
    sign_in(client, world.users[role])
    body = client.get("/queue").get_data(as_text=True)
    for status, ticket in tickets.items():
        row = _row_of(body, ticket.number)
        for move in MOVES.values():
            offered = f'name="move" value="{move.name}"' in row
            expected = (
                move.name in BOARD_MOVES and move.allows_status(status) and move.allows_role(role)
            )
            assert offered == expected, (ticket.number, status, move.name, role)


@pytest.mark.parametrize("status", ["waiting", "called", "in_service"])
@pytest.mark.parametrize("role", CLINICAL)
def test_the_workstation_enables_exactly_the_allowed_buttons(
    client: FlaskClient, world: World, role: str, status: str
) -> None:
    if status != "waiting":  # the room's current patient
        ticket_ready_for(world, next(m for m in MOVES.values() if m.from_statuses[0] == status))
    sign_in(client, world.users[role])
    client.post("/workstation/service-point", data={"service_point_id": world.room1.id})
    body = client.get("/workstation").get_data(as_text=True)
    for button in BUTTONS:
        move = MOVES[button.move]
        if button.action == "call-next":
            expected = status == "waiting"
        else:
            expected = status != "waiting" and move.allows_status(status)
        enabled = _button_enabled(body, button.key)
        assert enabled == expected, (button.action, status, role)


def _row_of(body: str, number: str) -> str:
    """The HTML of the board row or list item of one ticket."""
    start = body.index(f'data-ticket="{number}"')
    ends = [body.find(marker, start + 1) for marker in ("data-ticket=", "</section>")]
    return body[start : min(end for end in ends if end != -1)]


def _button_enabled(body: str, key: str) -> bool:
    if key == "T":  # Transfer… opens a form when allowed, else a disabled stand-in
        return 'id="ws-transfer"' in body
    marker = f'data-shortcut="{key}" aria-keyshortcuts="{key}"'
    start = body.index(marker)
    tag = body[start : body.index(">", start)]
    return "disabled" not in tag

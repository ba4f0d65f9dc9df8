"""The waiting-room display (``/display/<CODE>``) and the small state it polls.

Public: no sign-in, GET only. It shows ticket numbers, rooms and how many are
waiting — never a name, a date of birth or a phone number (DOMAIN.md, Privacy).
The state carries a version (also its ETag); a poll whose If-None-Match still
matches gets an empty 304, so an idle screen costs almost nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp import clock
from webapp.clock import local_time
from webapp.database import utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.departments.services import get_department_by_code
from webapp.domain_errors import NotFound
from webapp.extensions import db
from webapp.queue.models import QueueEvent, Ticket
from webapp.queue.state import count_waiting

bp = Blueprint("display", __name__, url_prefix="/display")

RECENT_CALLS = 5
CALL_ACTIONS = ("call", "recall")


@dataclass(frozen=True)
class Call:
    """One call or recall as the display shows it: a ticket number and a room, nothing else."""

    id: int  # the QueueEvent's id; new ids since the last poll are announced
    number: str
    room: str | None
    at: datetime
    recall: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "room": self.room,
            "at": self.at.astimezone(UTC).isoformat(),
            "time": local_time(self.at),
            "recall": self.recall,
        }


@dataclass(frozen=True)
class DisplayState:
    department: Department
    calls: list[Call]
    waiting: int
    now: datetime

    @property
    def version(self) -> str:
        """Changes whenever anything the screen shows changes (the clock aside)."""
        content = json.dumps(
            [[call.as_json() for call in self.calls], self.waiting, self.department.name],
            sort_keys=True,
        )
        return hashlib.sha256(content.encode()).hexdigest()[:20]

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "department": {"code": self.department.code, "name": self.department.name},
            "calls": [call.as_json() for call in self.calls],
            "waiting": self.waiting,
            "now": self.now.astimezone(UTC).isoformat(),
        }


def _active_department(code: str) -> Department:
    department = get_department_by_code(code)
    if not department.active:
        raise NotFound("No such department.")
    return department


def _start_of_service_day() -> datetime:
    return clock.day_bounds(clock.today())[0]


def recent_calls(department: Department, limit: int = RECENT_CALLS) -> list[Call]:
    """Today's newest calls and recalls of a department, newest first."""
    rows = db.session.execute(
        select(
            QueueEvent.id,
            QueueEvent.action,
            QueueEvent.created_at,
            Ticket.number,
            ServicePoint.name,
        )
        .join(Ticket, Ticket.id == QueueEvent.ticket_id)
        .outerjoin(ServicePoint, ServicePoint.id == QueueEvent.service_point_id)
        .where(
            QueueEvent.department_id == department.id,
            QueueEvent.action.in_(CALL_ACTIONS),
            QueueEvent.created_at >= _start_of_service_day(),
        )
        .order_by(QueueEvent.id.desc())
        .limit(limit)
    )
    return [
        Call(id=event_id, number=number, room=room, at=created_at, recall=action == "recall")
        for event_id, action, created_at, number, room in rows
    ]


def display_state(department: Department) -> DisplayState:
    return DisplayState(
        department=department,
        calls=recent_calls(department),
        waiting=count_waiting(department.id),
        now=utcnow(),
    )


def _not_cached(response: Response) -> Response:
    # Public data, but always revalidated: a screen must never show a stale queue.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/<code>")
def show(code: str) -> Response:
    department = _active_department(code)
    state = display_state(department)
    response = current_app.make_response(
        render_template(
            "display/show.html",
            state=state,
            timezone=clock.hospital_zone().key,
        )
    )
    return _not_cached(response)


@bp.get("/<code>/state.json")
def state(code: str) -> Response:
    department = _active_department(code)
    current = display_state(department)
    version = current.version
    if request.if_none_match.contains(version):
        response = Response(status=304)
    else:
        response = jsonify(current.as_json())
    response.set_etag(version)
    return _not_cached(response)

"""The reception board (/queue): the live queue of every department or one, check-in and the
row menus, whose moves come from the rule book."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.appointments.services import appointments_query
from webapp.auth.permissions import role_required
from webapp.auth.roles import FRONT_DESK, STAFF
from webapp.database import utcnow
from webapp.departments.models import Department
from webapp.departments.services import get_department, list_departments
from webapp.domain_errors import DomainError
from webapp.extensions import db
from webapp.live import renders
from webapp.live.versions import is_current, parse_stamp, stamp_for
from webapp.patients.services import search_patients
from webapp.queue.forms import AppointmentCheckInForm, CheckInForm, MoveForm
from webapp.queue.history import ticket_history
from webapp.queue.models import Ticket
from webapp.queue.moves import apply_move, check_in
from webapp.queue.rules import (
    EVENT_LABELS,
    MOVES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    Move,
    moves_for,
)
from webapp.queue.state import queue_state
from webapp.queue.views import View, bp, flash_form_errors, refused
from webapp.session_guard import polled

# The moves a board row offers (the workstation makes the ones tied to a room); which of
# them a row shows is the rule book's answer for the ticket's status and the viewer's role.
BOARD_MOVES = ("recall", "skip", "move_to_front", "set_priority", "assign", "transfer", "cancel")
# "Still to arrive today" opens by itself only while it is this short, so the live queue stays
# the first thing on the desk's screen.
OPEN_APPOINTMENTS_UP_TO = 5


def _department_filter() -> int | None:
    return request.args.get("department_id", type=int)


def _board_url(department_id: int | None = None) -> str:
    return url_for("queue.board", department_id=department_id or None)


def _back_to_board() -> Response:
    return redirect(_board_url(_department_filter()))


def row_moves(ticket: Ticket) -> list[Move]:
    """The moves the signed-in user may make on ``ticket`` from the board."""
    return moves_for(ticket.status, current_user.role, among=BOARD_MOVES)


# Stand-ins in a shared render of the rows for what differs per answer: the viewer's CSRF
# token and the server's clock (which waited.js counts the minutes on from).
CSRF_STAND_IN = "@@csrf-token@@"
NOW_ATTRIBUTE = re.compile(r'data-now="[^"]*"')


def _shown_departments(department_id: int | None) -> list[Department]:
    if department_id is not None:
        return [get_department(department_id)]
    return list_departments(active_only=True)


def _stamp(departments: list[Department]) -> str:
    return str(stamp_for(department.id for department in departments))


def _board_context(
    department_id: int | None,
    departments: list[Department] | None = None,
    version: str | None = None,
) -> dict[str, object]:
    """What the rows show. ``version`` (the stamp) is read before the queues unless given,
    and when given it was read before this call: the queues are never older than it says."""
    if departments is None:
        departments = _shown_departments(department_id)
    if version is None:
        version = _stamp(departments)
    states = [queue_state(department.id) for department in departments]
    return {
        "states": states,
        "department_id": department_id,
        "version": version,
        "all_departments": list_departments(active_only=True),
        "can_check_in": current_user.role in FRONT_DESK,
        "row_moves": row_moves,
        "now": utcnow(),
    }


@bp.route("/queue")
@role_required(*STAFF)
def board() -> View:
    department_id = _department_filter()
    context = _board_context(department_id)
    appointments: list[Appointment] = []
    if context["can_check_in"]:
        appointments = list(
            db.session.scalars(
                appointments_query(day=clock.today(), department_id=department_id, status="booked")
            )
        )
    return render_template(
        "queue/board.html",
        appointments=appointments,
        open_appointments_up_to=OPEN_APPOINTMENTS_UP_TO,
        selected_department=department_id,
        **context,
    )


@bp.route("/queue/board-partial")
@role_required(*STAFF)
@polled
def board_partial() -> View:
    """The rows of the board; 204 (htmx swaps nothing) while nothing changed.

    "Nothing changed" is answered from the queue versions alone (one key lookup). Changed
    rows are rendered once per (role, filter, stamp) and shared by every board and server
    process; this answer's CSRF token and clock are put in afterwards.
    """
    if is_current(parse_stamp(request.args.get("version"))):
        return "", 204
    department_id = _department_filter()
    departments = _shown_departments(department_id)
    stamp = _stamp(departments)

    def render() -> str:
        context = _board_context(department_id, departments, stamp)
        return render_template(
            "queue/_board_rows.html", csrf_token=lambda: CSRF_STAND_IN, **context
        )

    rows = renders.shared("board", f"{current_user.role}:{department_id or 'all'}:{stamp}", render)
    now = utcnow().isoformat(timespec="seconds")
    return NOW_ATTRIBUTE.sub(f'data-now="{now}"', rows, count=1).replace(
        CSRF_STAND_IN, generate_csrf()
    )


@bp.route("/queue/patient-search")
@role_required(*FRONT_DESK)
def patient_search() -> View:
    query = (request.args.get("q") or "").strip()
    results = search_patients(query, page=1, per_page=8) if query else None
    return render_template("queue/_patient_choices.html", q=query, results=results)


@bp.route("/queue/check-in", methods=["POST"])
@role_required(*FRONT_DESK)
def check_in_walk_in() -> Response:
    form = CheckInForm()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return _back_to_board()
    try:
        ticket = check_in(
            actor=current_user,
            patient_id=form.patient_id.data,
            department_id=form.department_id.data,
            priority=form.priority.data or "routine",
        )
    except DomainError as error:
        return refused(error, _board_url(_department_filter()))
    _flash_checked_in(ticket)
    return _back_to_board()


@bp.route("/queue/check-in-appointment", methods=["POST"])
@role_required(*FRONT_DESK)
def check_in_appointment() -> Response:
    form = AppointmentCheckInForm()
    if not form.validate_on_submit():
        flash("Choose an appointment to check in.", "error")
        return _back_to_board()
    try:
        ticket = check_in(actor=current_user, appointment_id=form.appointment_id.data)
    except DomainError as error:
        return refused(error, _board_url(_department_filter()))
    _flash_checked_in(ticket)
    return _back_to_board()


def _flash_checked_in(ticket: Ticket) -> None:
    """Say which ticket was made, and for which appointment when the ticket has one (a walk-in
    check-in takes the patient's booking today in that department by itself)."""
    # The flash travels in the session cookie: it names the ticket, never the patient.
    for_appointment = (
        Markup(", for the {time} appointment").format(
            time=clock.local_time(ticket.appointment.starts_at)
        )
        if ticket.appointment is not None
        else ""
    )
    flash(
        Markup(
            "Checked in: ticket <strong>{number}</strong> in {department}{for_appointment}. "
            '<a href="{url}">Print ticket {number}</a>'
        ).format(
            number=ticket.number,
            department=ticket.department.name,
            for_appointment=for_appointment,
            url=url_for("tickets.print_ticket", ticket_id=ticket.id),
        ),
        "success",
    )


@bp.route("/queue/tickets/<int:ticket_id>/history")
@role_required(*STAFF)
def history(ticket_id: int) -> View:
    """A ticket's history (every move, who made it, why), opened from its row menu."""
    return render_template(
        "queue/_ticket_history.html", history=ticket_history(ticket_id), event_labels=EVENT_LABELS
    )


MOVE_DONE = {
    "recall": "{number} was called again.",
    "skip": "{number} was skipped; it goes back a few places.",
    "move_to_front": "{number} is now first in its priority group.",
    "set_priority": "{number} is now {priority}.",
    "assign": "{number} is assigned to {room}.",
    "cancel": "{number} is cancelled.",
    "transfer": "{previous} was transferred to {department} as {number}.",
}


@bp.route("/queue/tickets/<int:ticket_id>/move", methods=["POST"])
@role_required(*STAFF)
def move_ticket(ticket_id: int) -> Response:
    """One move from a board row menu; the rule book decides whether this user may make it."""
    form = MoveForm()
    if not form.validate_on_submit() or form.move.data not in BOARD_MOVES:
        flash_form_errors(form.errors or {"move": ["Choose an action from the menu."]})
        return _back_to_board()
    move = MOVES[form.move.data]
    try:
        ticket = apply_move(
            ticket_id,
            move.name,
            actor=current_user,
            service_point_id=form.service_point_id.data,
            priority=form.priority.data or None,
            department_id=form.department_id.data,
            reason=form.reason.data,
        )
    except DomainError as error:
        return refused(error, _board_url(_department_filter()))
    flash(
        MOVE_DONE[move.name].format(
            number=ticket.number,
            previous=ticket.transferred_from.number if ticket.transferred_from else "",
            department=ticket.department.name,
            priority=PRIORITY_LABELS.get(ticket.priority, ticket.priority).lower(),
            room=ticket.service_point.name if ticket.service_point else "a room",
            status=STATUS_LABELS[ticket.status].lower(),
        ),
        "success",
    )
    return _back_to_board()

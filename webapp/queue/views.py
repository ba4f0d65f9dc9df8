"""Staff queue screens: the reception board (/queue) and the clinician workstation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.appointments.services import appointments_query
from webapp.auth.permissions import role_required
from webapp.database import get_by_id, utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.departments.services import get_department, list_departments
from webapp.domain_errors import DomainError
from webapp.extensions import db
from webapp.form_errors import describe
from webapp.patients.services import search_patients
from webapp.queue.forms import (
    PRIORITY_CHOICES,
    AppointmentCheckInForm,
    CheckInForm,
    OverrideForm,
    ServicePointChoiceForm,
    StatusForm,
    WorkstationActionForm,
    WorkstationTransferForm,
)
from webapp.queue.models import Ticket
from webapp.queue.services import (
    ALLOWED_FROM,
    PRIORITY_LABELS,
    STATUS_LABELS,
    QueueState,
    call_next,
    check_in,
    override_ticket,
    queue_state,
    serving_ticket,
    transition_ticket,
)

bp = Blueprint("queue", __name__)

View = str | Response | tuple[str, int]

STAFF = ("receptionist", "clinician", "admin")
FRONT_DESK = ("receptionist", "admin")
CLINICAL = ("clinician", "admin")
LONG_WAIT_MINUTES = 30
NEXT_IN_LINE = 3
SESSION_POINT = "workstation_service_point_id"


def minutes_since(moment: datetime | None, until: datetime | None = None) -> int:
    if moment is None:
        return 0
    return max(0, int(((until or utcnow()) - moment).total_seconds() // 60))


@bp.context_processor
def queue_helpers() -> dict[str, object]:
    return {
        "priority_labels": PRIORITY_LABELS,
        "status_labels": STATUS_LABELS,
        "priority_choices": PRIORITY_CHOICES,
        "minutes_since": minutes_since,
        "long_wait_minutes": LONG_WAIT_MINUTES,
    }


# ------------------------------------------------------------------ the board


def _department_filter() -> int | None:
    return request.args.get("department_id", type=int)


def _board_url(department_id: int | None = None) -> str:
    return url_for("queue.board", department_id=department_id or None)


def _back_to_board() -> Response:
    return redirect(_board_url(_department_filter()))


def _board_context(department_id: int | None) -> dict[str, object]:
    if department_id is not None:
        departments = [get_department(department_id)]
    else:
        departments = list_departments(active_only=True)
    states = [queue_state(department.id) for department in departments]
    return {
        "states": states,
        "department_id": department_id,
        "version": board_version(states),
        "all_departments": list_departments(active_only=True),
        "can_change": current_user.role in FRONT_DESK,
        "now": utcnow(),
    }


def board_version(states: list[QueueState]) -> str:
    return "|".join(state.version for state in states)


@bp.route("/queue")
@role_required(*STAFF)
def board() -> View:
    department_id = _department_filter()
    context = _board_context(department_id)
    appointments: list[Appointment] = []
    if context["can_change"]:
        appointments = list(
            db.session.scalars(
                appointments_query(day=clock.today(), department_id=department_id, status="booked")
            )
        )
    return render_template(
        "queue/board.html",
        appointments=appointments,
        selected_department=department_id,
        **context,
    )


@bp.route("/queue/board-partial")
@role_required(*STAFF)
def board_partial() -> View:
    """The rows of the board; 204 (htmx swaps nothing) while nothing changed."""
    context = _board_context(_department_filter())
    if request.args.get("version") == context["version"]:
        return "", 204
    return render_template("queue/_board_rows.html", **context)


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
        flash(" ".join(message for errors in form.errors.values() for message in errors), "error")
        return _back_to_board()
    try:
        ticket = check_in(
            actor=current_user,
            patient_id=form.patient_id.data,
            department_id=form.department_id.data,
            priority=form.priority.data or "routine",
        )
    except DomainError as error:
        return _refused(error)
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
        return _refused(error)
    _flash_checked_in(ticket)
    return _back_to_board()


def _flash_checked_in(ticket: Ticket) -> None:
    print_url = f"/tickets/{ticket.id}/print"
    flash(
        Markup(
            "Checked in {name}: ticket <strong>{number}</strong> in {department}. "
            '<a href="{url}">Print ticket {number}</a>'
        ).format(
            name=ticket.patient.full_name,
            number=ticket.number,
            department=ticket.department.name,
            url=print_url,
        ),
        "success",
    )


def _refused(error: DomainError, target: str | None = None) -> Response:
    """Flash what went wrong; nothing the refused action started is kept."""
    db.session.rollback()
    flash(describe(error), "error")
    return redirect(target or _board_url(_department_filter()))


OVERRIDE_DONE = {
    "skip": "{number} was skipped; it goes back a few places.",
    "move_to_front": "{number} is now first in its priority group.",
    "set_priority": "{number} is now {priority}.",
    "assign": "{number} is assigned to {room}.",
    "recall": "{number} was called again.",
}


@bp.route("/queue/tickets/<int:ticket_id>/override", methods=["POST"])
@role_required(*FRONT_DESK)
def override(ticket_id: int) -> Response:
    form = OverrideForm()
    if not form.validate_on_submit():
        flash(" ".join(message for errors in form.errors.values() for message in errors), "error")
        return _back_to_board()
    action = form.action.data or ""
    try:
        ticket = override_ticket(
            ticket_id,
            action=action,
            actor=current_user,
            service_point_id=form.service_point_id.data,
            priority=form.priority.data or None,
            department_id=form.department_id.data,
            reason=form.reason.data,
        )
    except DomainError as error:
        return _refused(error)
    if action == "transfer":
        flash(
            f"{ticket.transferred_from.number if ticket.transferred_from else 'The ticket'} "
            f"was transferred to {ticket.department.name} as {ticket.number}.",
            "success",
        )
    else:
        flash(
            OVERRIDE_DONE[action].format(
                number=ticket.number,
                priority=PRIORITY_LABELS.get(ticket.priority, ticket.priority).lower(),
                room=ticket.service_point.name if ticket.service_point else "a room",
            ),
            "success",
        )
    return _back_to_board()


@bp.route("/queue/tickets/<int:ticket_id>/status", methods=["POST"])
@role_required(*FRONT_DESK)
def change_status(ticket_id: int) -> Response:
    form = StatusForm()
    if not form.validate_on_submit():
        flash(" ".join(message for errors in form.errors.values() for message in errors), "error")
        return _back_to_board()
    try:
        ticket = transition_ticket(
            ticket_id, status=form.status.data or "", actor=current_user, reason=form.reason.data
        )
    except DomainError as error:
        return _refused(error)
    flash(f"{ticket.number} is now {STATUS_LABELS[ticket.status].lower()}.", "success")
    return _back_to_board()


# ------------------------------------------------------------ the workstation


@dataclass(frozen=True)
class Button:
    action: str
    label: str
    key: str
    enabled: bool
    why_not: str
    primary: bool = False


def _chosen_point() -> ServicePoint | None:
    point = get_by_id(ServicePoint, session.get(SESSION_POINT))
    if point is None or not point.active or not point.department.active:
        session.pop(SESSION_POINT, None)
        return None
    return point


def _buttons(current: Ticket | None) -> list[Button]:
    status = current.status if current else None
    number = current.number if current else ""
    busy = (
        f"Finish {number} first: complete it, mark it no-show or return it to the queue."
        if current
        else ""
    )
    nobody = "Nobody is being served here; call the next patient first."

    def only(move: str, verb: str) -> tuple[bool, str]:
        allowed = ALLOWED_FROM[move]
        if current is None:
            return False, nobody
        if status in allowed:
            return True, ""
        readable = " or ".join(STATUS_LABELS[s].lower() for s in allowed)
        return (
            False,
            f"{number} is {STATUS_LABELS[current.status].lower()}; {verb} needs {readable}.",
        )

    # Call next stays enabled while the room is free: the queue may have changed since the
    # page was drawn, and the answer then is "Nobody waiting".
    buttons = [
        Button("call-next", "Call next", "C", current is None, busy, primary=current is None)
    ]
    for action, label, key, move, verb in (
        ("recall", "Recall", "R", "recall", "recall"),
        ("start", "Start", "S", "start", "starting"),
        ("complete", "Complete", "D", "complete", "completing"),
        ("no-show", "No-show", "N", "no_show", "a no-show"),
        ("return", "Return to queue", "Q", "return_to_queue", "returning"),
    ):
        ok, why = only(move, verb=verb)
        primary = (action == "start" and status == "called") or (
            action == "complete" and status == "in_service"
        )
        buttons.append(Button(action, label, key, ok, why, primary=primary))
    return buttons


@bp.route("/workstation")
@role_required(*CLINICAL)
def workstation() -> View:
    point = _chosen_point()
    departments = list_departments(active_only=True)
    points_by_department = [
        (department, [p for p in department.service_points if p.active])
        for department in departments
    ]
    context: dict[str, object] = {
        "point": point,
        "points_by_department": points_by_department,
        "departments": departments,
        "current": None,
        "next_up": [],
        "waiting_count": 0,
        "buttons": _buttons(None),
        "now": utcnow(),
    }
    if point is not None:
        state = queue_state(point.department_id)
        eligible = [
            entry for entry in state.waiting if entry.ticket.service_point_id in (None, point.id)
        ]
        current = serving_ticket(point)
        context.update(
            current=current,
            next_up=eligible[:NEXT_IN_LINE],
            waiting_count=len(eligible),
            buttons=_buttons(current),
        )
    return render_template("queue/workstation.html", **context)


@bp.route("/workstation/service-point", methods=["POST"])
@role_required(*CLINICAL)
def choose_service_point() -> Response:
    form = ServicePointChoiceForm()
    if form.validate_on_submit():
        point = get_by_id(ServicePoint, form.service_point_id.data)
        if point is None or not point.active:
            flash("Choose an active room or counter.", "error")
        else:
            session[SESSION_POINT] = point.id
            flash(f"You are working at {point.name}, {point.department.name}.", "success")
    else:
        flash("Choose your room or counter.", "error")
    return redirect(url_for("queue.workstation"))


def _to_workstation() -> Response:
    return redirect(url_for("queue.workstation"))


@bp.route(
    '/workstation/<any("call-next", recall, start, complete, "no-show", return):action>',
    methods=["POST"],
)
@role_required(*CLINICAL)
def workstation_action(action: str) -> Response:
    point = _chosen_point()
    form = WorkstationActionForm()
    if point is None:
        flash("Choose your room or counter first.", "error")
        return _to_workstation()
    if not form.validate_on_submit():
        flash("That did not work; reload the page and try again.", "error")
        return _to_workstation()
    target = url_for("queue.workstation")
    try:
        if action == "call-next":
            called = call_next(service_point_id=point.id, actor=current_user)
            if called is None:
                flash("Nobody waiting: there is no patient for this room right now.", "info")
            else:
                flash(f"Called {called.number} to {point.name}.", "success")
            return _to_workstation()
        ticket_id = form.ticket_id.data
        current = serving_ticket(point)
        if ticket_id is None or current is None or current.id != ticket_id:
            flash("The patient at this room changed; the screen is now up to date.", "error")
            return _to_workstation()
        if action == "recall":
            ticket = override_ticket(ticket_id, action="recall", actor=current_user)
            message = f"Called {ticket.number} again (recall {ticket.recall_count})."
        else:
            status = {
                "start": "in_service",
                "complete": "completed",
                "no-show": "no_show",
                "return": "waiting",
            }[action]
            ticket = transition_ticket(ticket_id, status=status, actor=current_user)
            message = {
                "start": f"{ticket.number} is in service.",
                "complete": f"{ticket.number} is completed.",
                "no-show": f"{ticket.number} is marked no-show.",
                "return": f"{ticket.number} is back in the queue in its place.",
            }[action]
    except DomainError as error:
        return _refused(error, target)
    flash(message, "success")
    return _to_workstation()


@bp.route("/workstation/transfer", methods=["POST"])
@role_required(*CLINICAL)
def workstation_transfer() -> Response:
    point = _chosen_point()
    form = WorkstationTransferForm()
    target = url_for("queue.workstation")
    if point is None:
        flash("Choose your room or counter first.", "error")
        return _to_workstation()
    if not form.validate_on_submit():
        flash(" ".join(message for errors in form.errors.values() for message in errors), "error")
        return _to_workstation()
    current = serving_ticket(point)
    if current is None or current.id != form.ticket_id.data:
        flash("The patient at this room changed; the screen is now up to date.", "error")
        return _to_workstation()
    try:
        follow_up = override_ticket(
            current.id,
            action="transfer",
            actor=current_user,
            department_id=form.department_id.data,
            reason=form.reason.data or None,
        )
    except DomainError as error:
        return _refused(error, target)
    department = db.session.get(Department, follow_up.department_id)
    flash(
        f"{current.number} transferred to {department.name if department else 'the department'} "
        f"as {follow_up.number}.",
        "success",
    )
    return _to_workstation()

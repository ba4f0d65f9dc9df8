"""The clinician workstation (/workstation): one room, its current patient, the next in line,
and buttons whose state (enabled, or disabled with the reason) comes from the rule book."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.permissions import role_required
from webapp.auth.roles import CLINICAL
from webapp.database import get_by_id, utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.departments.services import list_departments
from webapp.domain_errors import DomainError
from webapp.extensions import db
from webapp.live.versions import is_current, parse_stamp, stamp_for
from webapp.queue.forms import (
    ServicePointChoiceForm,
    WorkstationActionForm,
    WorkstationTransferForm,
)
from webapp.queue.models import Ticket
from webapp.queue.moves import apply_move, call_next, sign_in_at_service_point
from webapp.queue.rules import MOVES, role_refusal, status_refusal
from webapp.queue.state import queue_state, serving_ticket
from webapp.queue.views import View, bp, flash_form_errors, refused
from webapp.session_guard import polled

NEXT_IN_LINE = 3
SESSION_POINT = "workstation_service_point_id"


@dataclass(frozen=True)
class Button:
    action: str  # the URL's word
    move: str  # the rule book's move
    label: str
    key: str
    done: str  # the flash once made, with {number} and {recalls}
    enabled: bool = False
    why_not: str = ""
    primary: bool = False


# The workstation's buttons in screen order. "Call next" is a call of whoever is first.
BUTTONS = (
    Button("call-next", "call", "Call next", "C", "Called {number} to {room}."),
    Button("recall", "recall", "Recall", "R", "Called {number} again (recall {recalls})."),
    Button("start", "start", "Start", "S", "{number} is in service."),
    Button("complete", "complete", "Complete", "D", "{number} is completed."),
    Button("no-show", "no_show", "No-show", "N", "{number} is marked no-show."),
    Button(
        "return",
        "return_to_queue",
        "Return to queue",
        "Q",
        "{number} is back in the queue in its place.",
    ),
    Button("transfer", "transfer", "Transfer…", "T", "{number} was transferred."),
)
BUTTON_BY_ACTION = {button.action: button for button in BUTTONS}
# The step the room's screen takes next, drawn as the primary button.
PRIMARY_FOR_STATUS = {None: "call-next", "called": "start", "in_service": "complete"}


def _chosen_point() -> ServicePoint | None:
    point = get_by_id(ServicePoint, session.get(SESSION_POINT))
    if point is None or not point.active or not point.department.active:
        session.pop(SESSION_POINT, None)
        return None
    return point


def _button_state(button: Button, current: Ticket | None) -> Button:
    """The button as the rule book sees it for this user and the room's current ticket."""
    move = MOVES[button.move]
    why_not = role_refusal(move, current_user.role)
    if why_not is None and button.action == "call-next":
        # Call next stays enabled while the room is free: the queue may have changed since
        # the page was drawn, and the answer then is "Nobody waiting".
        if current is not None:
            why_not = (
                f"Finish {current.number} first: complete it, mark it no-show "
                "or return it to the queue."
            )
    elif why_not is None and current is None:
        why_not = "Nobody is being served here; call the next patient first."
    elif why_not is None and current is not None:
        why_not = status_refusal(move, current.number, current.status)
    primary = PRIMARY_FOR_STATUS.get(current.status if current else None) == button.action
    return Button(
        button.action,
        button.move,
        button.label,
        button.key,
        button.done,
        enabled=why_not is None,
        why_not=why_not or "",
        primary=primary and why_not is None,
    )


def buttons_for(current: Ticket | None) -> list[Button]:
    return [_button_state(button, current) for button in BUTTONS]


NO_ROOM = "no-room"


def live_version(point: ServicePoint | None) -> str:
    """Changes whenever anything the live part shows changes: the room, and the stamp of its
    department's queue — every move there (the room's own patient's included, a recall from
    the board too) and a clinician signing in at one of its rooms changes it. Read before
    the queue it labels."""
    if point is None:
        return NO_ROOM
    return f"p{point.id}:{stamp_for([point.department_id])}"


def live_version_holds(version: str | None) -> bool:
    """Whether the live part showing ``version`` is still current, from the session and the
    queue versions alone (no room or queue query)."""
    room, _, stamp = (version or "").partition(":")
    chosen = session.get(SESSION_POINT)
    return isinstance(chosen, int) and room == f"p{chosen}" and is_current(parse_stamp(stamp))


def _live_context(point: ServicePoint | None, departments: list[Department]) -> dict[str, object]:
    """What the live part (current patient, buttons, next in line) shows for ``point``."""
    context: dict[str, object] = {
        "point": point,
        "departments": departments,
        "current": None,
        "next_up": [],
        "watched": [],
        "waiting_count": 0,
        "buttons": buttons_for(None),
        "now": utcnow(),
        "version": live_version(None),
    }
    if point is not None:
        version = live_version(point)
        state = queue_state(point.department_id)
        eligible = [
            entry for entry in state.waiting if entry.ticket.service_point_id in (None, point.id)
        ]
        current = serving_ticket(point)
        context.update(
            current=current,
            next_up=eligible[:NEXT_IN_LINE],
            # The rest of the department's queue is watched for breaches too (not drawn).
            watched=[entry for entry in state.waiting if entry not in eligible[:NEXT_IN_LINE]],
            waiting_count=len(eligible),
            buttons=buttons_for(current),
            version=version,
        )
    return context


@bp.route("/workstation")
@role_required(*CLINICAL)
def workstation() -> View:
    point = _chosen_point()
    departments = list_departments(active_only=True)
    points_by_department = [
        (department, [p for p in department.service_points if p.active])
        for department in departments
    ]
    return render_template(
        "queue/workstation.html",
        points_by_department=points_by_department,
        **_live_context(point, departments),
    )


@bp.route("/workstation/live")
@role_required(*CLINICAL)
@polled
def workstation_live() -> View:
    """The live part of the workstation; 204 (htmx swaps nothing) while nothing changed,
    answered from the session and the queue versions alone."""
    if live_version_holds(request.args.get("version")):
        return "", 204
    context = _live_context(_chosen_point(), list_departments(active_only=True))
    return render_template("queue/_workstation_live.html", **context)


def _to_workstation() -> Response:
    return redirect(url_for("queue.workstation"))


@bp.route("/workstation/service-point", methods=["POST"])
@role_required(*CLINICAL)
def choose_service_point() -> Response:
    form = ServicePointChoiceForm()
    if not form.validate_on_submit():
        flash("Choose your room or counter.", "error")
        return _to_workstation()
    try:
        point = sign_in_at_service_point(form.service_point_id.data, current_user)
    except DomainError as error:
        return refused(error, url_for("queue.workstation"))
    session[SESSION_POINT] = point.id
    flash(f"You are working at {point.name}, {point.department.name}.", "success")
    return _to_workstation()


def _current_or_refusal(point: ServicePoint, ticket_id: int | None) -> Ticket | Response:
    """The room's current ticket, if it is still the one the screen showed."""
    current = serving_ticket(point)
    if ticket_id is None or current is None or current.id != ticket_id:
        flash("The patient at this room changed; the screen is now up to date.", "error")
        return _to_workstation()
    return current


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
    button = BUTTON_BY_ACTION[action]
    try:
        if action == "call-next":
            ticket = call_next(service_point_id=point.id, actor=current_user)
            if ticket is None:
                flash("Nobody waiting: there is no patient for this room right now.", "info")
                return _to_workstation()
        else:
            current = _current_or_refusal(point, form.ticket_id.data)
            if isinstance(current, Response):
                return current
            ticket = apply_move(current.id, button.move, actor=current_user)
    except DomainError as error:
        return refused(error, url_for("queue.workstation"))
    flash(
        button.done.format(number=ticket.number, room=point.name, recalls=ticket.recall_count),
        "success",
    )
    return _to_workstation()


@bp.route("/workstation/transfer", methods=["POST"])
@role_required(*CLINICAL)
def workstation_transfer() -> Response:
    point = _chosen_point()
    form = WorkstationTransferForm()
    if point is None:
        flash("Choose your room or counter first.", "error")
        return _to_workstation()
    if not form.validate_on_submit():
        flash_form_errors(form.errors)
        return _to_workstation()
    current = _current_or_refusal(point, form.ticket_id.data)
    if isinstance(current, Response):
        return current
    try:
        follow_up = apply_move(
            current.id,
            "transfer",
            actor=current_user,
            department_id=form.department_id.data,
            reason=form.reason.data or None,
        )
    except DomainError as error:
        return refused(error, url_for("queue.workstation"))
    department = db.session.get(Department, follow_up.department_id)
    flash(
        f"{current.number} transferred to {department.name if department else 'the department'} "
        f"as {follow_up.number}.",
        "success",
    )
    return _to_workstation()

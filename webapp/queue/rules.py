"""The queue's rule book: every move a ticket can make, in one table.

Each :class:`Move` says which statuses it may start from, which roles may make
it, whether it needs a reason, the status it leaves the ticket in and the
QueueEvent action it writes. The services refuse anything the table forbids;
the board, the workstation and the JSON API ask the same table (through the
services), and the pages render their buttons and row menus from it. The
diagram is DOMAIN.md's "Ticket states".
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.auth.roles import CLINICAL, FRONT_DESK, STAFF
from webapp.domain_errors import Conflict, Forbidden, ValidationFailed

PRIORITY_LABELS = {
    "emergency": "Emergency",
    "urgent": "Urgent",
    "priority": "Priority",
    "routine": "Routine",
}
STATUS_LABELS = {
    "waiting": "Waiting",
    "called": "Called",
    "in_service": "In service",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
    "transferred": "Transferred",
}


@dataclass(frozen=True)
class Move:
    """One legal kind of change to a ticket."""

    name: str
    label: str  # a button's words
    from_statuses: tuple[str, ...]
    roles: tuple[str, ...]
    needs_reason: bool
    to_status: str | None  # None: the status stays (assign, move to front, set priority)
    doing: str  # "it can be <doing> only while …"

    @property
    def event(self) -> str:
        """The QueueEvent action this move writes (the move's own name)."""
        return self.name

    def allows_status(self, status: str) -> bool:
        return status in self.from_statuses

    def allows_role(self, role: str | None) -> bool:
        return role in self.roles


MOVES: dict[str, Move] = {
    move.name: move
    for move in (
        Move("call", "Call", ("waiting",), CLINICAL, False, "called", "called"),
        Move("recall", "Recall", ("called",), STAFF, False, "called", "recalled"),
        Move("start", "Start", ("called",), CLINICAL, False, "in_service", "started"),
        Move("complete", "Complete", ("in_service",), CLINICAL, False, "completed", "completed"),
        Move(
            "no_show",
            "No-show",
            ("called", "in_service"),
            CLINICAL,
            False,
            "no_show",
            "marked no-show",
        ),
        Move("cancel", "Cancel ticket", ("waiting",), STAFF, True, "cancelled", "cancelled"),
        Move(
            "return_to_queue",
            "Return to queue",
            ("called",),
            CLINICAL,
            False,
            "waiting",
            "returned to the queue",
        ),
        Move("skip", "Skip", ("waiting", "called"), FRONT_DESK, True, "waiting", "skipped"),
        Move("assign", "Assign", ("waiting",), FRONT_DESK, True, None, "assigned"),
        Move(
            "move_to_front",
            "Move to front",
            ("waiting",),
            FRONT_DESK,
            True,
            None,
            "moved to the front",
        ),
        Move(
            "set_priority", "Set priority", ("waiting",), FRONT_DESK, True, None, "re-prioritised"
        ),
        Move(
            "transfer",
            "Transfer",
            ("waiting", "called", "in_service"),
            STAFF,
            False,
            "transferred",
            "transferred",
        ),
    )
}

# How a ticket's history names each QueueEvent action (check-in is not a move: it opens a ticket).
EVENT_LABELS = {"check_in": "Checked in"} | {
    "call": "Called",
    "recall": "Called again",
    "start": "Started",
    "complete": "Completed",
    "no_show": "No-show",
    "cancel": "Cancelled",
    "return_to_queue": "Returned to the queue",
    "skip": "Skipped",
    "assign": "Assigned to a room",
    "move_to_front": "Moved to the front",
    "set_priority": "Priority changed",
    "transfer": "Transferred",
}

# PATCH /queue/{id}/status names the status to reach; this is the move that reaches it.
MOVE_TO_STATUS: dict[str, str] = {
    "called": "call",
    "in_service": "start",
    "completed": "complete",
    "no_show": "no_show",
    "cancelled": "cancel",
    "waiting": "return_to_queue",
}


def get_move(name: str) -> Move:
    move = MOVES.get(name)
    if move is None:
        raise ValidationFailed({"action": f"Use one of: {', '.join(MOVES)}."})
    return move


def move_for_status(status: str) -> Move:
    """The move that takes a ticket to ``status`` (the API's status changes)."""
    name = MOVE_TO_STATUS.get(status)
    if name is None:
        raise ValidationFailed({"status": f"Use one of: {', '.join(MOVE_TO_STATUS)}."})
    return MOVES[name]


def moves_for(status: str, role: str, among: tuple[str, ...] | None = None) -> list[Move]:
    """The moves ``role`` may make on a ticket in ``status`` (optionally among some names),
    in the table's order: what a row menu offers."""
    return [
        move
        for move in MOVES.values()
        if (among is None or move.name in among)
        and move.allows_status(status)
        and move.allows_role(role)
    ]


def role_refusal(move: Move, role: str | None) -> str | None:
    """Why ``role`` may not make ``move`` (None when it may)."""
    if move.allows_role(role):
        return None
    return f"{move.label} is for {_readable_roles(move.roles)}."


def authorize(move: Move, role: str | None) -> None:
    """Refuse (403) a role the table does not name; ``None`` is the system itself."""
    if role is None:
        return
    why_not = role_refusal(move, role)
    if why_not is not None:
        raise Forbidden(why_not)


def status_refusal(move: Move, number: str, status: str) -> str | None:
    """Why a ticket in ``status`` cannot make ``move`` (None when it can)."""
    if move.allows_status(status):
        return None
    allowed = " or ".join(STATUS_LABELS[name].lower() for name in move.from_statuses)
    return (
        f"Ticket {number} is {STATUS_LABELS[status].lower()}; "
        f"it can be {move.doing} only while it is {allowed}."
    )


def check_move(
    move: Move, *, number: str, status: str, role: str | None, reason: str | None
) -> None:
    """Refuse the move unless the table allows it: role (403), status (409), reason (422).

    ``role`` None is the system itself (the end-of-day close), which may make any move and
    writes its own reasons.
    """
    authorize(move, role)
    why_not = status_refusal(move, number, status)
    if why_not is not None:
        raise Conflict(why_not, field="status")
    if role is not None and move.needs_reason and not (reason or "").strip():
        raise ValidationFailed(
            {"reason": "Give a reason for the change; it is kept in the queue's history."}
        )


def _readable_roles(roles: tuple[str, ...]) -> str:
    names = {"receptionist": "receptionists", "clinician": "clinicians", "admin": "admins"}
    words = [names[role] for role in roles]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

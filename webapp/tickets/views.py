"""The patient's ticket page (``/t/<token>``), its poll, and the printable ticket.

The ticket page is public — the unguessable token is the only key — and shows
ticket numbers, departments, rooms and the wait: never a name, a date of birth
or a phone number. It always shows the newest ticket of a transfer chain.
The printable ticket is for the front desk (receptionist, admin).

``/t/<token>/push`` takes the browser's Web Push subscription (POST) and gives
it back (DELETE), as JSON, for the page's "Notify me on this phone" button.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import segno
from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from webapp.auth.permissions import role_required
from webapp.domain_errors import DomainError, NotFound, ValidationFailed
from webapp.extensions import csrf, limiter
from webapp.links import public_url_for
from webapp.live import renders
from webapp.live.versions import is_current, stamp_for, stamp_in
from webapp.notifications.push import (
    push_enabled,
    subscribe_push,
    unsubscribe_push,
    vapid_public_key,
)
from webapp.queue.models import FINAL_STATUSES, Ticket
from webapp.queue.rules import STATUS_LABELS
from webapp.queue.state import (
    WaitingTicket,
    get_ticket,
    latest_ticket_for_token,
    position_of,
    queue_state,
)

bp = Blueprint("tickets", __name__)
T = TypeVar("T")

# Tokens are secrets.token_urlsafe(24) (32 characters); anything else cannot be one.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Turning push on and off: a few clicks per ticket, and the patients of one waiting room
# share one address (the hospital's Wi-Fi), so the address's allowance is larger.
PUSH_LIMIT_PER_TICKET = "10 per minute"
PUSH_LIMIT_PER_ADDRESS = "60 per minute"


@dataclass(frozen=True)
class TicketView:
    """What the patient may see about their ticket: no name, no date of birth, no phone."""

    ticket: Ticket
    place: WaitingTicket | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.ticket.status]

    @property
    def ahead(self) -> int | None:
        return self.place.position - 1 if self.place else None

    @property
    def estimate(self) -> int | None:
        return self.place.estimated_wait_minutes if self.place else None

    @property
    def room(self) -> str:
        point = self.ticket.service_point
        return point.name if point is not None else "the reception desk"

    @property
    def is_final(self) -> bool:
        return self.ticket.status in FINAL_STATUSES

    @property
    def title(self) -> str:
        """The browser tab's title: the one thing to know at a glance."""
        if self.ticket.status == "called":
            return f"Please go to {self.room} · {self.ticket.number}"
        return f"{self.ticket.number} · {self.status_label}"


def _checked_token(token: str) -> str:
    if not TOKEN_PATTERN.match(token):
        raise NotFound("No such ticket.")
    return token


class _ChainMoved(Exception):
    """The ticket chain moved to another department while its page was being made."""

    def __init__(self, department_id: int) -> None:
        super().__init__(department_id)
        self.department_id = department_id


def _places(department_id: int, stamp: str) -> dict[int, list[int]]:
    """Every waiting ticket's place in the department, computed once per stamp and shared by
    every patient's page (one queue read per change, not one per phone)."""
    text = renders.shared(
        "places",
        stamp,
        lambda: json.dumps(
            {
                str(entry.ticket.id): [entry.position, entry.estimated_wait_minutes]
                for entry in queue_state(department_id).waiting
            }
        ),
    )
    return {int(key): value for key, value in json.loads(text).items()}


def _view_under(token: str, department_id: int, stamp: str) -> TicketView:
    """The page's view, read after ``stamp`` (so never older than it), for a chain still in
    ``department_id``; _ChainMoved if it has left it since."""
    ticket = latest_ticket_for_token(token, fresh=True)
    if ticket.department_id != department_id:
        raise _ChainMoved(ticket.department_id)
    place = None
    if ticket.status == "waiting":
        numbers = _places(department_id, stamp).get(ticket.id)
        if numbers is not None:
            place = WaitingTicket(ticket, numbers[0], numbers[1])
    return TicketView(ticket=ticket, place=place)


def _stamped(token: str, make: Callable[[str, int, str], T]) -> tuple[str | None, T]:
    """``make(token, department, stamp)`` under the stamp of the chain's department, read
    first. A chain transferred meanwhile is followed to its new department (its stamp read
    again first); one moving faster than that is answered unstamped, so the next poll asks
    again."""
    department_id = latest_ticket_for_token(token).department_id
    for _attempt in range(3):
        stamp = str(stamp_for([department_id]))
        try:
            return stamp, make(token, department_id, stamp)
        except _ChainMoved as moved:
            department_id = moved.department_id
    return None, make(token, latest_ticket_for_token(token, fresh=True).department_id, "")


def _private(response: Response) -> Response:
    # The address is the key to the ticket: never keep a copy, never let a search engine index it.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _fragment(token: str, department_id: int, stamp: str) -> str:
    """The status fragment, rendered once per (ticket chain, stamp) and shared."""

    def render() -> str:
        return render_template(
            "tickets/_status.html", view=_view_under(token, department_id, stamp)
        )

    if not stamp:
        return render()
    return renders.shared("ticket", f"{token}:{stamp}", render)


@bp.get("/t/<token>")
def status(token: str) -> Response:
    version, view = _stamped(_checked_token(token), _view_under)
    fragment = render_template("tickets/_status.html", view=view)
    html = render_template(
        "tickets/status.html",
        view=view,
        fragment=Markup(fragment),  # noqa: S704 (our own template's output)
        version=version or "",
        poll_url=url_for("tickets.poll", token=token),
        # The "Notify me" button: only with VAPID keys, and only while the ticket can change.
        push_key=None if view.is_final else vapid_public_key(current_app.config),
        push_url=url_for("tickets.push_subscription", token=token),
    )
    return _private(current_app.make_response(html))


@bp.get("/t/<token>/status")
def poll(token: str) -> Response:
    """The status fragment of the ticket page; 304 while it has not changed.

    The version is the stamp of the department the ticket chain is in: every change to the
    chain (a move, a transfer out) is a change to that department, so a stamp that still
    holds answers 304 from one key lookup, without reading the ticket.
    """
    _checked_token(token)
    shown = stamp_in(request.if_none_match)
    if shown is not None and is_current(shown):
        response = Response(status=304)
        response.set_etag(str(shown))
        return _private(response)
    version, fragment = _stamped(token, _fragment)
    response = current_app.make_response(fragment)
    if version is not None:
        response.set_etag(version)
    return _private(response)


def _ticket_key() -> str:
    token = str((request.view_args or {}).get("token", ""))
    return "push-ticket:" + token[:64]


def _json(status: int, **body: object) -> Response:
    response = jsonify(body)
    response.status_code = status
    return _private(response)


def _json_error(error: DomainError) -> Response:
    errors = error.errors if isinstance(error, ValidationFailed) else {}
    return _json(error.status_code, message=error.message, errors=errors)


def _subscription_body() -> object:
    """The request's JSON body; BadRequest when it is not JSON."""
    if not request.is_json:
        raise BadRequest("Send the subscription as JSON (Content-Type: application/json).")
    try:
        return request.get_json()
    except BadRequest:
        raise BadRequest("The request body is not valid JSON.") from None


@bp.route("/t/<token>/push", methods=["POST", "DELETE"])
@limiter.shared_limit(PUSH_LIMIT_PER_TICKET, "push-ticket", key_func=_ticket_key)
@limiter.shared_limit(PUSH_LIMIT_PER_ADDRESS, "push-address")
# No CSRF token: no cookie or session grants anything here, the unguessable token in the
# address is the only key, so a forged cross-site request can do nothing its sender could
# not do directly. A JSON body is required, which a cross-site form cannot send.
@csrf.exempt
def push_subscription(token: str) -> Response:
    """Turn Web Push on (POST the browser's subscription) or off (DELETE ``{"endpoint"}``)."""
    try:
        if not TOKEN_PATTERN.match(token):
            raise NotFound("No such ticket.")
        if request.method == "POST" and not push_enabled(current_app.config):
            raise NotFound("This hospital does not send notifications to phones.")
        try:
            body = _subscription_body()
        except BadRequest as error:
            return _json(400, message=error.description, errors={})
        if request.method == "DELETE":
            endpoint = body.get("endpoint") if isinstance(body, dict) else None
            unsubscribe_push(token, endpoint)
            return _json(200, subscribed=False, message="Notifications are off for this phone.")
        subscribe_push(token, body)
    except DomainError as error:
        return _json_error(error)
    return _json(200, subscribed=True, message="Notifications are on for this phone.")


def ticket_qr_svg(url: str) -> Markup:
    """A QR code of ``url`` as inline SVG (presentation attributes only, no style attributes)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=4,
        border=2,
        svgclass="ticket-qr",
        lineclass=None,
        omitsize=True,  # a viewBox instead: ticket.css sizes it for the printer
        title="QR code of the ticket page",
    )
    svg = svg.replace("<svg ", '<svg role="img" ', 1)
    return Markup(svg)  # noqa: S704 (segno's own markup of a URL we built)


@bp.get("/tickets/<int:ticket_id>/print")
@role_required("receptionist", "admin")
def print_ticket(ticket_id: int) -> str:
    ticket = get_ticket(ticket_id)
    view = TicketView(ticket=ticket, place=position_of(ticket))
    ticket_url = public_url_for("tickets.status", token=ticket.status_token)
    return render_template(
        "tickets/print.html",
        view=view,
        ticket_url=ticket_url,
        qr=ticket_qr_svg(ticket_url),
        hospital_name=current_app.config["HOSPITAL_NAME"],
    )

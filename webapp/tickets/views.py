"""The patient's ticket page (``/t/<token>``), its poll, and the printable ticket.

The ticket page is public — the unguessable token is the only key — and shows
ticket numbers, departments, rooms and the wait: never a name, a date of birth
or a phone number. It always shows the newest ticket of a transfer chain.
The printable ticket is for the front desk (receptionist, admin).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import segno
from flask import Blueprint, current_app, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from webapp.auth.permissions import role_required
from webapp.domain_errors import NotFound
from webapp.links import public_url_for
from webapp.queue.models import FINAL_STATUSES, Ticket
from webapp.queue.rules import STATUS_LABELS
from webapp.queue.state import (
    WaitingTicket,
    get_ticket,
    latest_ticket_for_token,
    position_of,
)

bp = Blueprint("tickets", __name__)

# Tokens are secrets.token_urlsafe(24) (32 characters); anything else cannot be one.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


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


def _view_for_token(token: str) -> TicketView:
    if not TOKEN_PATTERN.match(token):
        raise NotFound("No such ticket.")
    ticket = latest_ticket_for_token(token)
    return TicketView(ticket=ticket, place=position_of(ticket))


def _private(response: Response) -> Response:
    # The address is the key to the ticket: never keep a copy, never let a search engine index it.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _version(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:20]


@bp.get("/t/<token>")
def status(token: str) -> Response:
    view = _view_for_token(token)
    fragment = render_template("tickets/_status.html", view=view)
    html = render_template(
        "tickets/status.html",
        view=view,
        fragment=Markup(fragment),  # noqa: S704 (our own template's output)
        version=_version(fragment),
        poll_url=url_for("tickets.poll", token=token),
    )
    return _private(current_app.make_response(html))


@bp.get("/t/<token>/status")
def poll(token: str) -> Response:
    """The status fragment of the ticket page; 304 while it has not changed."""
    view = _view_for_token(token)
    fragment = render_template("tickets/_status.html", view=view)
    version = _version(fragment)
    if request.if_none_match.contains(version):
        response = Response(status=304)
    else:
        response = current_app.make_response(fragment)
    response.set_etag(version)
    return _private(response)


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

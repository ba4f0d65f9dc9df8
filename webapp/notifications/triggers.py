"""Which change sends which message: the notifications' listeners to the domain's events.

The queue and the appointments publish events (``webapp.domain_events``); the
listeners here decide what to say and write the outbox rows in the same
transaction. They run just before the commit, so they read the final state of
everything the request changed: the ticket's room after a call, its estimate
after a check-in, the department's queue after every move.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.database import before_commit, get_by_id
from webapp.domain_events import AppointmentChanged, TicketEventHappened, subscribe
from webapp.extensions import db
from webapp.links import NoPublicAddress, public_url_for
from webapp.notifications.messages import PUSH_KINDS, render_message, wait_phrase
from webapp.notifications.models import Notification, PushSubscription
from webapp.notifications.outbox import can_text, write_notification
from webapp.queue.models import Ticket
from webapp.queue.state import position_of, serving_order

# What a queue event tells the patient (other moves change nothing they need to hear about).
TICKET_MESSAGES = {"check_in": "check_in", "call": "called", "recall": "recalled"}


def subscribe_listeners() -> None:
    """Listen to the domain's events (the app factory calls this; repeating it is harmless)."""
    subscribe(TicketEventHappened, on_ticket_event)
    subscribe(AppointmentChanged, on_appointment_changed)


# ------------------------------------------------------------------ queue


def on_ticket_event(event: TicketEventHappened) -> None:
    kind = TICKET_MESSAGES.get(event.action)
    if kind is not None:
        before_commit(
            f"notify:{event.action}:{event.ticket_id}",
            lambda: send_ticket_message(event.ticket_id, kind),
        )
    # Any move can bring someone within reach of their turn; check each department once.
    before_commit(f"notify:near:{event.department_id}", lambda: send_near_turn(event.department_id))


def send_ticket_message(ticket_id: int, kind: str) -> None:
    """The check-in confirmation, or the call / recall, of one ticket (SMS and push)."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        return
    if kind == "check_in" and ticket.transferred_from_id is not None:
        kind = "transferred"
    if kind in ("called", "recalled") and ticket.status != "called":
        return  # called and seen (or sent back) before the commit: nothing to go to
    context: dict[str, object] = {
        "number": ticket.number,
        "department": ticket.department.name,
        "room": ticket.service_point.name if ticket.service_point else "the reception desk",
        "previous_number": ticket.transferred_from.number if ticket.transferred_from else None,
    }
    if kind in ("check_in", "transferred"):
        context["wait"] = wait_phrase(_ahead(ticket), ticket.estimated_wait_at_check_in)
        context["url"] = _ticket_link(ticket)
    _write_for_ticket(ticket, kind, context)


def send_near_turn(department_id: int) -> None:
    """Your turn is near, for each waiting ticket with NEAR_TURN_AHEAD or fewer ahead, once each."""
    reach = current_app.config["NEAR_TURN_AHEAD"]
    first = db.session.scalars(
        serving_order(
            select(Ticket).where(Ticket.department_id == department_id, Ticket.status == "waiting")
        )
        .limit(reach + 1)
        .options(selectinload(Ticket.patient), selectinload(Ticket.department))
    ).all()
    # Most moves change nothing here: skip the tickets already told, in one query.
    told = set(
        db.session.scalars(
            select(Notification.ticket_id).where(
                Notification.ticket_id.in_([ticket.id for ticket in first]),
                Notification.template_key == "turn_near",
            )
        )
    )
    for ahead, ticket in enumerate(first):
        if ticket.id in told:
            continue
        context = {"number": ticket.number, "department": ticket.department.name, "ahead": ahead}
        _write_for_ticket(ticket, "turn_near", context, once=True)


def _write_for_ticket(
    ticket: Ticket, kind: str, context: dict[str, object], *, once: bool = False
) -> None:
    if can_text(ticket.patient):
        write_notification(
            patient_id=ticket.patient_id,
            channel="sms",
            kind=kind,
            body=render_message(kind, "sms", **context),
            ticket_id=ticket.id,
            dedupe_key=f"{kind}:ticket:{ticket.id}:sms" if once else None,
        )
    if kind not in PUSH_KINDS:
        return
    subscriptions = db.session.scalars(
        select(PushSubscription)
        .where(PushSubscription.status_token == ticket.status_token)
        .order_by(PushSubscription.id)
    ).all()
    for subscription in subscriptions:
        write_notification(
            patient_id=ticket.patient_id,
            channel="push",
            kind=kind,
            body=render_message(kind, "push", **context),
            ticket_id=ticket.id,
            push_subscription_id=subscription.id,
            dedupe_key=f"{kind}:ticket:{ticket.id}:push:{subscription.id}" if once else None,
        )


def _ahead(ticket: Ticket) -> int | None:
    place = position_of(ticket)
    return place.position - 1 if place is not None else None


def _ticket_link(ticket: Ticket) -> str | None:
    try:
        return public_url_for("tickets.status", token=ticket.status_token)
    except NoPublicAddress:  # no PUBLIC_BASE_URL and no request: the message goes without it
        return None


# ------------------------------------------------------------ appointments


def on_appointment_changed(event: AppointmentChanged) -> None:
    before_commit(
        f"notify:appointment:{event.appointment_id}:{event.change}",
        lambda: send_appointment_message(event.appointment_id, f"appointment_{event.change}"),
    )


def send_appointment_message(
    appointment_id: int, kind: str, *, dedupe_key: str | None = None
) -> bool:
    """One appointment message by SMS, if the patient may be texted; True when a row was written."""
    appointment = get_by_id(Appointment, appointment_id)
    if appointment is None or not can_text(appointment.patient):
        return False
    body = render_message(
        kind,
        "sms",
        department=appointment.department.name,
        when=appointment_time(appointment),
        reference=appointment.reference,
    )
    written = write_notification(
        patient_id=appointment.patient_id,
        channel="sms",
        kind=kind,
        body=body,
        appointment_id=appointment.id,
        dedupe_key=dedupe_key,
    )
    return written is not None


def appointment_time(appointment: Appointment) -> str:
    """The appointment's start as "Tue 3 Dec at 09:30", in the hospital's time zone."""
    moment = clock.local(appointment.starts_at)
    return f"{moment:%a} {moment.day} {moment:%b} at {moment:%H:%M}"

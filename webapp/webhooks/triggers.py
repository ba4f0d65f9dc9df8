"""Which domain event becomes which webhook event: the webhooks' listeners.

They run in the publisher's transaction, just before its commit (so the data is
the final state of the change), and write one delivery per active subscription
listening to the event. A rolled-back change leaves no delivery behind.
"""

from __future__ import annotations

from webapp.appointments.models import Appointment
from webapp.database import before_commit, utcnow
from webapp.domain_events import AppointmentChanged, TicketEventHappened, subscribe
from webapp.extensions import db
from webapp.queue.models import Ticket
from webapp.webhooks.events import APPOINTMENT_EVENTS, TICKET_EVENTS
from webapp.webhooks.payloads import appointment_data, ticket_data
from webapp.webhooks.services import write_deliveries


def subscribe_listeners() -> None:
    """Listen to the domain's events (the app factory calls this; repeating it is harmless)."""
    subscribe(TicketEventHappened, on_ticket_event)
    subscribe(AppointmentChanged, on_appointment_changed)


def on_ticket_event(event: TicketEventHappened) -> None:
    event_type = TICKET_EVENTS.get(event.action)
    if event_type is None:
        return  # skip, assign, move to front…: not an event integrators subscribe to
    occurred_at = utcnow()

    def write() -> None:
        ticket = db.session.get(Ticket, event.ticket_id)
        if ticket is not None:
            write_deliveries(event_type, lambda: ticket_data(ticket), occurred_at)

    before_commit(f"webhook:{event.action}:{event.ticket_id}", write)


def on_appointment_changed(event: AppointmentChanged) -> None:
    event_type = APPOINTMENT_EVENTS.get(event.change)
    if event_type is None:
        return
    occurred_at = utcnow()

    def write() -> None:
        appointment = db.session.get(Appointment, event.appointment_id)
        if appointment is not None:
            write_deliveries(event_type, lambda: appointment_data(appointment), occurred_at)

    before_commit(f"webhook:appointment:{event.appointment_id}:{event.change}", write)

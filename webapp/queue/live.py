"""The queue's screens hear of changes made outside the queue: a patient renamed (the boards
show names) or a booking changed (rows show appointment times). Moves touch their department
themselves (moves._record); these listeners touch the departments the other changes show in."""

from __future__ import annotations

from sqlalchemy import select

from webapp.appointments.models import Appointment
from webapp.database import get_by_id
from webapp.domain_events import AppointmentChanged, PatientChanged, subscribe
from webapp.extensions import db
from webapp.live import versions as live_versions
from webapp.queue.models import ACTIVE_STATUSES, Ticket


def subscribe_listeners() -> None:
    """Listen to the other domains' events (the app factory calls this; repeating is harmless)."""
    subscribe(PatientChanged, on_patient_changed)
    subscribe(AppointmentChanged, on_appointment_changed)


def on_patient_changed(event: PatientChanged) -> None:
    departments = db.session.scalars(
        select(Ticket.department_id)
        .where(Ticket.patient_id == event.patient_id, Ticket.status.in_(ACTIVE_STATUSES))
        .distinct()
    )
    live_versions.touch(*departments)


def on_appointment_changed(event: AppointmentChanged) -> None:
    appointment = get_by_id(Appointment, event.appointment_id)
    if appointment is not None:
        live_versions.touch(appointment.department_id)

"""The day-before appointment reminder: one SMS per appointment, from REMINDER_HOUR.

The periodic task runs every ten minutes. From REMINDER_HOUR (hospital time)
until four hours later, every booked appointment of the next day whose patient
may be texted gets one reminder. The row's once-only key names the appointment
and its date, so running the task again writes nothing new, and an appointment
moved to another day is reminded of again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.database import utcnow
from webapp.extensions import db
from webapp.notifications.triggers import send_appointment_message
from webapp.patients.models import Patient

# Reminders go out during this window after REMINDER_HOUR, never late at night.
REMINDER_WINDOW = timedelta(hours=4)


def reminders_due(now: datetime) -> bool:
    """Whether ``now`` (hospital time) is inside today's reminder window."""
    local_now = clock.local(now)
    start = local_now.replace(
        hour=current_app.config["REMINDER_HOUR"], minute=0, second=0, microsecond=0
    )
    return start <= local_now < min(start + REMINDER_WINDOW, start.replace(hour=23, minute=59))


def send_due_reminders(now: datetime | None = None) -> int:
    """Write the reminders due now; how many rows were written."""
    now = now or utcnow()
    if not reminders_due(now):
        return 0
    tomorrow = clock.local(now).date() + timedelta(days=1)
    start, end = clock.day_bounds(tomorrow)
    appointments = db.session.scalars(
        select(Appointment)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.status == "booked",
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Patient.sms_opt_in.is_(True),
            Patient.phone.is_not(None),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    written = 0
    for appointment in appointments:
        key = f"appointment_reminder:{appointment.id}:{tomorrow.isoformat()}"
        written += send_appointment_message(appointment.id, "appointment_reminder", dedupe_key=key)
    return written

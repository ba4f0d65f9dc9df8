"""The day-before appointment reminder (webapp/notifications/reminders.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from tests.factories import AppointmentFactory, DepartmentFactory, PatientFactory
from webapp.extensions import db
from webapp.notifications.models import Notification
from webapp.notifications.reminders import send_due_reminders
from webapp.notifications.tasks import send_appointment_reminders

ZONE = ZoneInfo("Europe/London")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "Europe/London", "REMINDER_HOUR": 17}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


def appointment(starts_at: datetime, **patient: Any) -> Any:
    fields = {"sms_opt_in": True, "phone": "+447700900123", **patient}
    booked = AppointmentFactory(
        patient=PatientFactory(**fields),
        department=DepartmentFactory(name="Cardiology"),
        starts_at=starts_at,
    )
    db.session.commit()
    return booked


def reminders() -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.template_key == "appointment_reminder")
            .order_by(Notification.id)
        )
    )


def test_it_reminds_once_per_appointment_across_runs(app, capsys):
    booked = appointment(at(8, 9, 30))

    with time_machine.travel(at(7, 17, 5)):
        assert send_appointment_reminders.call_local() == 1
        db.session.commit()
    with time_machine.travel(at(7, 17, 15)):
        assert send_appointment_reminders.call_local() == 0
        db.session.commit()

    [reminder] = reminders()
    assert reminder.appointment_id == booked.id and reminder.status == "sent"
    assert "Cardiology appointment tomorrow, Tue 8 Dec at 09:30" in reminder.body
    assert capsys.readouterr().out.count("reminder of your") == 1


def test_it_waits_for_the_reminder_hour_and_stops_late_in_the_evening(app):
    appointment(at(8, 9, 30))

    for moment in (at(7, 16, 59), at(7, 21, 0), at(7, 23, 30)):
        assert send_due_reminders(moment.astimezone(ZONE)) == 0

    assert reminders() == []


def test_it_reminds_only_booked_appointments_of_tomorrow_to_patients_who_may_be_texted(app):
    due = appointment(at(8, 10))
    appointment(at(9, 10))  # the day after tomorrow
    appointment(at(7, 18))  # today
    appointment(at(8, 11), sms_opt_in=False)
    appointment(at(8, 12), phone=None)
    cancelled = appointment(at(8, 13))
    cancelled.status = "cancelled"
    db.session.commit()

    assert send_due_reminders(at(7, 18)) == 1
    db.session.commit()

    assert [row.appointment_id for row in reminders()] == [due.id]


def test_it_reminds_again_when_the_appointment_moves_to_another_day(app):
    booked = appointment(at(8, 10))
    send_due_reminders(at(7, 18))
    db.session.commit()

    booked.starts_at, booked.ends_at = at(9, 10), at(9, 10) + timedelta(minutes=20)
    db.session.commit()
    send_due_reminders(at(8, 18))
    db.session.commit()

    assert len(reminders()) == 2

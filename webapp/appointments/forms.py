"""Booking forms. They only parse input; the rules live in the appointment services."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from webapp import clock
from webapp.appointments.models import APPOINTMENT_STATUSES
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.form_filters import strip_text
from webapp.query_inputs import filter_date_in_range

# How the day view's Book links carry a slot's start (?starts_at=2030-01-21T09:40).
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
STATUS_LABELS = {
    "booked": "Booked",
    "checked_in": "Checked in",
    "cancelled": "Cancelled",
    "no_show": "No-show",
    "completed": "Completed",
}


# H:MM or HH:MM on the 24-hour clock; the colon may be a dot or left out ("1430"), since
# a numeric phone keypad may have no colon key.
CLOCK_PATTERN = re.compile(r"^([01]?[0-9]|2[0-3])[:.]?([0-5][0-9])$")
CLOCK_HTML_PATTERN = "([01]?[0-9]|2[0-3])[:.]?[0-5][0-9]"
CLOCK_ERROR = "Enter the time as HH:MM, 24-hour, e.g. 14:30."


def clinician_choices(clinicians: list[User]) -> list[SelectChoice]:
    return [SelectChoice("", "Any clinician")] + [
        SelectChoice(str(user.id), user.full_name) for user in clinicians
    ]


def department_choices(departments: list[Department]) -> list[SelectChoice]:
    return [SelectChoice(str(d.id), f"{d.name} ({d.code})") for d in departments]


class AppointmentDateField(DateField):
    """The day of an appointment (``type="date"`` shows no clock, so no AM/PM)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter the date as a date, e.g. 2030-01-21.") from None


class ClockField(StringField):
    """A time of day typed on the 24-hour clock.

    A text box rather than ``<input type="time">``: the browser draws that one in
    the computer's locale, which shows AM/PM in en-US.
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        self.data = None
        match = CLOCK_PATTERN.match(str(valuelist[0]).strip())
        if match is None:
            raise ValueError(CLOCK_ERROR)
        self.data = time(int(match.group(1)), int(match.group(2)))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else ""


def _date_field() -> AppointmentDateField:
    return AppointmentDateField(
        "Date",
        # The year bounds keep the arithmetic on the date in range; the booking rules
        # (not in the past, not too far ahead) are the service's.
        validators=[InputRequired("Enter the date of the appointment."), filter_date_in_range],
    )


def _time_field() -> ClockField:
    return ClockField(
        "Time",
        validators=[InputRequired("Enter the time of the appointment, e.g. 14:30.")],
        render_kw={
            "inputmode": "numeric",
            "pattern": CLOCK_HTML_PATTERN,
            "placeholder": "14:30",
            # No maxlength: it would cut "2:30 PM" to "2:30 " and book 02:30 without a word.
            "size": 6,
            "autocomplete": "off",
        },
    )


def _duration_field() -> IntegerField:
    return IntegerField(
        "Length (minutes)",
        validators=[InputRequired("Enter the length of the appointment in minutes.")],
        render_kw={"min": 5, "max": 480, "inputmode": "numeric"},
    )


class _TimeForm(FlaskForm):
    start_date = _date_field()
    start_time = _time_field()
    duration_minutes = _duration_field()
    clinician_id = SelectField("Clinician", coerce=str, validators=[Optional()])

    def fill_start(self, moment: datetime) -> None:
        """Show an aware moment (or a naive wall-clock one) in the date and time fields."""
        wall_clock = clock.local(moment) if moment.tzinfo is not None else moment
        self.start_date.data = wall_clock.date()
        self.start_time.data = wall_clock.time().replace(second=0, microsecond=0)

    def aware_starts_at(self) -> datetime | None:
        """The typed date and time in HOSPITAL_TIMEZONE, or None if unreadable or impossible.

        A time the clocks skip gets an error on the time field.
        """
        day, moment = self.start_date.data, self.start_time.data
        if self.start_date.errors or self.start_time.errors or day is None or moment is None:
            return None
        aware = clock.from_local(datetime.combine(day, moment))
        if aware is None:
            self.start_time.errors = [
                *self.start_time.errors,
                "That time does not exist on this day because the clocks go forward. "
                "Choose another time.",
            ]
        return aware

    def clinician_value(self) -> int | None:
        return int(self.clinician_id.data) if self.clinician_id.data else None

    def has_errors(self) -> bool:
        return any(field.errors for field in self)


class BookingForm(_TimeForm):
    # Rendered by hand as radio buttons from the live patient search.
    patient_id = IntegerField("Patient", validators=[InputRequired("Choose a patient.")])
    department_id = SelectField(
        "Department", coerce=str, validators=[DataRequired("Choose a department.")]
    )
    reason = TextAreaField(
        "Reason",
        filters=[strip_text],
        description="Optional. What the visit is for, in a few words.",
        render_kw={"rows": 2, "maxlength": 200},
    )


class RescheduleForm(_TimeForm):
    """Move a booked appointment: time, length, clinician."""


class CancelForm(FlaskForm):
    reason = StringField(
        "Reason for cancelling",
        validators=[DataRequired("Say why the appointment is cancelled.")],
        filters=[strip_text],
        render_kw={"maxlength": 200},
    )


class DayFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    department_id = SelectField(
        "Department",
        coerce=str,
        filters=[strip_text],
        validate_choice=False,
        validators=[Optional()],
    )
    date = DateField("Date", validators=[Optional(), filter_date_in_range])


class ListFilterForm(FlaskForm):
    class Meta:
        csrf = False

    date = DateField("Date", validators=[Optional(), filter_date_in_range])
    # Stripped, so a space-only value is "any", not an id to parse.
    department_id = SelectField(
        "Department", coerce=str, filters=[strip_text], validators=[Optional()]
    )
    clinician_id = SelectField(
        "Clinician", coerce=str, filters=[strip_text], validators=[Optional()]
    )
    status = SelectField(
        "Status",
        coerce=str,
        choices=[SelectChoice("", "Any status")]
        + [SelectChoice(status, STATUS_LABELS[status]) for status in APPOINTMENT_STATUSES],
        validators=[Optional()],
    )
    patient_id = IntegerField("Patient", validators=[Optional()])

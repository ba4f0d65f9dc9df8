"""Booking forms. They only parse input; the rules live in the appointment services."""

from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
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

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
STATUS_LABELS = {
    "booked": "Booked",
    "checked_in": "Checked in",
    "cancelled": "Cancelled",
    "no_show": "No-show",
    "completed": "Completed",
}


def to_local_input(moment: datetime) -> str:
    """An aware datetime as a datetime-local value in HOSPITAL_TIMEZONE."""
    return clock.local(moment).strftime(LOCAL_FORMAT)


def clinician_choices(clinicians: list[User]) -> list[SelectChoice]:
    return [SelectChoice("", "Any clinician")] + [
        SelectChoice(str(user.id), user.full_name) for user in clinicians
    ]


def department_choices(departments: list[Department]) -> list[SelectChoice]:
    return [SelectChoice(str(d.id), f"{d.name} ({d.code})") for d in departments]


def _starts_at_field() -> DateTimeLocalField:
    return DateTimeLocalField(
        "Date and time",
        format=[LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired("Enter the date and time of the appointment.")],
    )


def _duration_field() -> IntegerField:
    return IntegerField(
        "Length (minutes)",
        validators=[InputRequired("Enter the length of the appointment in minutes.")],
        render_kw={"min": 5, "max": 480, "inputmode": "numeric"},
    )


class _TimeForm(FlaskForm):
    starts_at = _starts_at_field()
    duration_minutes = _duration_field()
    clinician_id = SelectField("Clinician", coerce=str, validators=[Optional()])

    def aware_starts_at(self) -> datetime | None:
        """The typed time in HOSPITAL_TIMEZONE; None (with an error on the field) if impossible."""
        if self.starts_at.data is None:
            return None
        aware = clock.from_local(self.starts_at.data)
        if aware is None:
            self.starts_at.errors = [
                *self.starts_at.errors,
                "That time does not exist on this day because the clocks go forward. "
                "Choose another time.",
            ]
        return aware

    def clinician_value(self) -> int | None:
        return int(self.clinician_id.data) if self.clinician_id.data else None


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

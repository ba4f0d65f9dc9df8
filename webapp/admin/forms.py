"""Admin forms. They only parse input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Optional

from webapp.auth.models import ROLE_LABELS, ROLES
from webapp.auth.services import MIN_PASSWORD_LENGTH
from webapp.departments.services import WEEKDAY_LABELS, WEEKDAYS
from webapp.departments.targets import DEFAULT_WAIT_TARGETS, MAX_TARGET_MINUTES
from webapp.form_filters import strip_text

ROLE_CHOICES = [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES]
PASSWORD_HELP = f"At least {MIN_PASSWORD_LENGTH} characters. A short sentence is easy to remember."


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


class NewUserForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Enter a username.")],
        filters=[strip_text],
        description="Letters, digits, dots, dashes or underscores. Not case-sensitive.",
    )
    full_name = StringField(
        "Full name",
        validators=[DataRequired("Enter the person's full name.")],
        filters=[strip_text],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired("Choose a role.")])
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter a password.")],
        description=PASSWORD_HELP,
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The two passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class EditUserForm(FlaskForm):
    full_name = StringField(
        "Full name",
        validators=[DataRequired("Enter the person's full name.")],
        filters=[strip_text],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired("Choose a role.")])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password.")],
        description=PASSWORD_HELP + " The person is signed out everywhere.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The two passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(FlaskForm):
    """An empty form: a button that posts with a CSRF token (deactivate, reactivate)."""


def _opening_hours_field(day: str) -> StringField:
    return StringField(
        WEEKDAY_LABELS[day],
        filters=[strip_text],
        render_kw={"placeholder": "closed", "inputmode": "numeric"},
    )


def _target_field(label: str) -> IntegerField:
    return IntegerField(
        f"{label} (min)",
        # Left empty (or not sent), a target keeps its value: the default for a new department.
        validators=[Optional()],
        default=DEFAULT_WAIT_TARGETS[label.lower()],
        render_kw={"min": 0, "max": MAX_TARGET_MINUTES, "inputmode": "numeric"},
    )


# The service names a target's problem "wait_targets.<priority>"; the form's field is
# "target_<priority>".
TARGET_FIELD_ALIASES = {
    f"wait_targets.{priority}": f"target_{priority}" for priority in DEFAULT_WAIT_TARGETS
}


class DepartmentForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Enter a code of 1 to 4 letters.")],
        filters=[_upper],
        description="1 to 4 capital letters; ticket numbers start with it (GM-014).",
        render_kw={"maxlength": 4, "autocapitalize": "characters"},
    )
    name = StringField(
        "Name", validators=[DataRequired("Enter the department's name.")], filters=[strip_text]
    )
    default_service_minutes = IntegerField(
        "Default service minutes",
        validators=[InputRequired("Enter the usual length of one visit in minutes.")],
        default=15,
        description="Used for wait estimates until today's real service times are known.",
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    accepts_walk_ins = BooleanField("Accepts walk-in patients", default=True)
    active = BooleanField("Active", default=True)
    always_open = BooleanField(
        "Open at all hours (no booking restriction)",
        default=True,
        description="Untick to set opening hours below. Check-in is possible at any time.",
    )
    mon = _opening_hours_field("mon")
    tue = _opening_hours_field("tue")
    wed = _opening_hours_field("wed")
    thu = _opening_hours_field("thu")
    fri = _opening_hours_field("fri")
    sat = _opening_hours_field("sat")
    sun = _opening_hours_field("sun")

    target_emergency = _target_field("Emergency")
    target_urgent = _target_field("Urgent")
    target_priority = _target_field("Priority")
    target_routine = _target_field("Routine")

    def target_fields(self) -> list[IntegerField]:
        return [getattr(self, f"target_{priority}") for priority in DEFAULT_WAIT_TARGETS]

    def wait_targets_value(self) -> dict[str, int]:
        """The targets filled in; a priority left empty (or not posted at all) keeps its value."""
        fields = {
            priority: getattr(self, f"target_{priority}") for priority in DEFAULT_WAIT_TARGETS
        }
        # A field not in the post holds its default, not what the admin typed: raw_data tells.
        return {
            priority: field.data
            for priority, field in fields.items()
            if field.raw_data and field.data is not None
        }

    def fill_wait_targets(self, targets: dict[str, int]) -> None:
        for priority, minutes in targets.items():
            getattr(self, f"target_{priority}").data = minutes

    def day_fields(self) -> list[StringField]:
        return [getattr(self, day) for day in WEEKDAYS]

    def opening_hours_value(self) -> dict[str, list[list[str]]] | str | None:
        """The opening hours as the service expects them, or the weekday whose text is unreadable.

        Each weekday is written like ``08:00-12:00, 13:00-17:00``; empty means closed.
        """
        if self.always_open.data:
            return None
        hours: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            text = (getattr(self, day).data or "").strip()
            if not text or text.lower() == "closed":
                continue
            intervals = []
            for part in text.replace("–", "-").replace("—", "-").split(","):
                if not part.strip():
                    continue
                start, sep, end = part.partition("-")
                if not sep:
                    return day
                intervals.append([_pad_time(start.strip()), _pad_time(end.strip())])
            hours[day] = intervals
        return hours

    def fill_opening_hours(self, hours: dict[str, list[list[str]]] | None) -> None:
        self.always_open.data = hours is None
        for day in WEEKDAYS:
            intervals = (hours or {}).get(day, [])
            getattr(self, day).data = ", ".join(f"{start}-{end}" for start, end in intervals)


def _pad_time(value: str) -> str:
    """Accept 8:00 or 8 as 08:00; anything else is left for the service to refuse."""
    if value.isdigit() and len(value) <= 2:
        return f"{int(value):02d}:00"
    hours, sep, minutes = value.partition(":")
    if sep and hours.isdigit() and len(hours) == 1:
        return f"0{hours}:{minutes}"
    return value


class ServicePointForm(FlaskForm):
    name = StringField(
        "Room or counter name",
        validators=[DataRequired("Enter a name, e.g. Room 3.")],
        filters=[strip_text],
    )

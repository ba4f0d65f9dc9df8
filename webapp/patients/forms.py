"""Patient forms. They only parse input; the rules live in webapp.patients.services."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from webapp.form_filters import strip_text
from webapp.patients.models import SEXES

SEX_CHOICES = [SelectChoice("", "Not recorded")] + [
    SelectChoice(sex, sex.capitalize()) for sex in SEXES
]


class BirthDateField(DateField):
    """A date field whose unreadable input gets a message that says what to type."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter the date of birth as a date, e.g. 1984-03-27.") from None


class PatientForm(FlaskForm):
    first_name = StringField(
        "First name",
        validators=[DataRequired("Enter the patient's first name.")],
        filters=[strip_text],
        render_kw={"autocomplete": "off"},
    )
    last_name = StringField(
        "Last name",
        validators=[DataRequired("Enter the patient's last name.")],
        filters=[strip_text],
        render_kw={"autocomplete": "off"},
    )
    date_of_birth = BirthDateField(
        "Date of birth",
        validators=[InputRequired("Enter the date of birth, e.g. 1984-03-27.")],
    )
    sex = SelectField("Sex", choices=SEX_CHOICES, default="", validators=[Optional()])
    phone = StringField(
        "Phone", filters=[strip_text], render_kw={"type": "tel", "autocomplete": "off"}
    )
    email = StringField(
        "Email", filters=[strip_text], render_kw={"type": "email", "autocomplete": "off"}
    )
    sms_opt_in = BooleanField("Patient agrees to SMS updates")
    mrn = StringField(
        "MRN (medical record number)",
        filters=[strip_text],
        description="Optional: leave empty to generate one.",
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    notes = TextAreaField("Notes", filters=[strip_text], render_kw={"rows": 3})


class NewPatientForm(PatientForm):
    confirm_not_duplicate = BooleanField("This is a different person — register anyway")


class EditPatientForm(PatientForm):
    mrn = StringField(
        "MRN (medical record number)",
        validators=[DataRequired("A patient always has an MRN; enter one.")],
        filters=[strip_text],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )

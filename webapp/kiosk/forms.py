"""Kiosk forms. They only parse input; the rules live in webapp.kiosk.services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import InputRequired

from webapp.form_filters import strip_text
from webapp.kiosk.services import NAME_MAX


class RegisterKioskForm(FlaskForm):
    name = StringField(
        "Kiosk name",
        validators=[InputRequired("Give the kiosk a name, such as “Main entrance”.")],
        filters=[strip_text],
        description=f"Where it stands, as staff call it (at most {NAME_MAX} characters).",
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )


class RevokeKioskForm(FlaskForm):
    """A button that posts with a CSRF token."""


class ReferenceForm(FlaskForm):
    """The kiosk's first step: the booking reference (typed, tapped or scanned)."""

    reference = StringField("Booking reference")


class YearForm(FlaskForm):
    """The second step: the year of birth, with the reference carried along."""

    reference = HiddenField()
    year = StringField("Year of birth")

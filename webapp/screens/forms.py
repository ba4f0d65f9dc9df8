"""The admin's screen forms. They only parse input; the rules live in webapp.screens.services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from webapp.form_filters import strip_text
from webapp.screens.services import NAME_MAX, NAME_RULE


class RenameScreenForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired(NAME_RULE)],
        filters=[strip_text],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )


class ForgetScreenForm(FlaskForm):
    """An empty form: a button that posts with a CSRF token."""

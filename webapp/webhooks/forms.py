"""Webhook forms. They only parse input; the rules live in webapp.webhooks.services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import InputRequired

from webapp.form_filters import strip_text
from webapp.webhooks.events import EVENT_TYPES
from webapp.webhooks.services import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class WebhookForm(FlaskForm):
    url = StringField(
        "Receiver address",
        validators=[InputRequired("Give the receiver's http:// or https:// address.")],
        filters=[strip_text],
        description="Where the events are POSTed, e.g. https://ehr.example.org/hooks/queue.",
        render_kw={"maxlength": MAX_URL_LENGTH, "autocomplete": "off", "inputmode": "url"},
    )
    events = CheckboxesField("Events", choices=list(EVENT_TYPES), validate_choice=False)
    description = StringField(
        "Description",
        filters=[strip_text],
        description="Optional: who runs the receiver and what it is for.",
        render_kw={"maxlength": MAX_DESCRIPTION_LENGTH},
    )


class ButtonForm(FlaskForm):
    """A button that posts with a CSRF token."""

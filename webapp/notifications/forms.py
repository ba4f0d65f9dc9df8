"""The notifications page's forms: the GET filters and the resend buttons. They parse only."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Optional, ValidationError

from webapp.form_filters import strip_text
from webapp.notifications.log import (
    CHANNEL_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    LogFilters,
)
from webapp.query_inputs import filter_date_in_range

# What the resend buttons send as ``resend``: the ticked rows, every failed row, or one row's id.
RESEND_SELECTED = "selected"
RESEND_ALL_FAILED = "failed"
MAX_ID_DIGITS = 19


def _choices(labels: dict[str, str], anything: str) -> list[SelectChoice]:
    return [SelectChoice("", anything)] + [
        SelectChoice(value, label) for value, label in labels.items()
    ]


class NotificationFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    # Stripped, so a space-only choice means "any", not a value to look up.
    status = SelectField(
        "Status",
        choices=_choices(STATUS_LABELS, "Any status"),
        filters=[strip_text],
        validators=[Optional()],
    )
    channel = SelectField(
        "Channel",
        choices=_choices(CHANNEL_LABELS, "Any channel"),
        filters=[strip_text],
        validators=[Optional()],
    )
    kind = SelectField(
        "Message",
        choices=_choices(KIND_LABELS, "Any message"),
        filters=[strip_text],
        validators=[Optional()],
    )
    date = DateField(
        "Day written",
        validators=[Optional(), filter_date_in_range],
    )

    def filters(self) -> LogFilters:
        """The validated filters (an empty choice means "any")."""
        return LogFilters(
            status=self.status.data or None,
            channel=self.channel.data or None,
            kind=self.kind.data or None,
            day=self.date.data,
        )

    def query_args(self) -> dict[str, Any]:
        """The chosen filters as query-string values, to link back to the same list."""
        args = {
            "status": self.status.data or "",
            "channel": self.channel.data or "",
            "kind": self.kind.data or "",
            "date": self.date.data.isoformat() if self.date.data else "",
        }
        return {name: value for name, value in args.items() if value}


class ResendForm(FlaskForm):
    """Which failed messages to send again.

    One form holds the whole table: the ticked boxes send ``ids``; the button
    pressed sends ``resend`` — "selected", "failed" (all failed) or one row's id.
    """

    ids = SelectMultipleField(
        "Messages",
        coerce=int,
        validate_choice=False,
        invalid_value_message="Tick the messages to resend.",
    )
    resend = StringField("Resend", validators=[InputRequired("Choose what to resend.")])

    def validate_ids(self, field: SelectMultipleField) -> None:
        if self.resend.data == RESEND_SELECTED and not field.data:
            raise ValidationError("Tick at least one failed message, then press “Resend selected”.")

    def validate_resend(self, field: StringField) -> None:
        if field.data in (RESEND_SELECTED, RESEND_ALL_FAILED):
            return
        text = field.data or ""
        # A row's id: digits only, and short enough to be an id (int() refuses 4300 digits).
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
            raise ValidationError("Choose what to resend.")

    def choice(self) -> tuple[list[int] | None, str | None]:
        """``(ids, None)`` or ``(None, "failed")``, as ``resend_notifications`` takes them."""
        if self.resend.data == RESEND_ALL_FAILED:
            return None, "failed"
        if self.resend.data == RESEND_SELECTED:
            return list(self.ids.data or []), None
        return [int(self.resend.data or "0")], None

"""The audit page's filter form. It parses input only; what matches is the service's business."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from webapp.audit_trail.services import AuditFilters
from webapp.form_filters import strip_text
from webapp.query_inputs import filter_date_in_range


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    # Stripped, so a space-only choice means "any", not a value to look up.
    action = SelectField("Action", coerce=str, filters=[strip_text], validators=[Optional()])
    user_id = SelectField("Staff member", coerce=str, filters=[strip_text], validators=[Optional()])
    entity_type = SelectField("About", coerce=str, filters=[strip_text], validators=[Optional()])
    entity_id = IntegerField(
        "Record id",
        validators=[Optional(), NumberRange(min=1, message="Enter a record number, e.g. 42.")],
        description="The number of the ticket, user, patient… chosen under “About”.",
    )
    date_from = DateField("From", validators=[Optional(), filter_date_in_range])
    date_to = DateField("To", validators=[Optional(), filter_date_in_range])

    def filters(self) -> AuditFilters:
        """The validated filters (an empty choice means "any")."""
        return AuditFilters(
            action=self.action.data or None,
            user_id=int(self.user_id.data) if self.user_id.data else None,
            entity_type=self.entity_type.data or None,
            entity_id=self.entity_id.data,
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )

"""Queue forms for the reception board and the clinician workstation.

They only check the shape of the input; every rule of the queue lives in
``webapp.queue`` (moves and rules).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from webapp.form_filters import strip_text
from webapp.queue.models import PRIORITIES
from webapp.queue.rules import PRIORITY_LABELS

PRIORITY_CHOICES = [SelectChoice(priority, PRIORITY_LABELS[priority]) for priority in PRIORITIES]


class CheckInForm(FlaskForm):
    """A walk-in: the patient found by the search, a department and a priority."""

    patient_id = IntegerField(
        "Patient", validators=[InputRequired("Find the patient and choose them in the list.")]
    )
    department_id = IntegerField("Department", validators=[InputRequired("Choose a department.")])
    priority = SelectField("Priority", choices=PRIORITY_CHOICES, default="routine")


class AppointmentCheckInForm(FlaskForm):
    appointment_id = IntegerField("Appointment", validators=[InputRequired()])


class MoveForm(FlaskForm):
    """One move from a board row menu. Whether it needs a reason is the rule book's call
    (webapp.queue.rules), so the form only checks the reason's length."""

    move = HiddenField("Action", validators=[DataRequired()])
    reason = StringField("Reason", validators=[Optional(), Length(max=500)], filters=[strip_text])
    service_point_id = IntegerField("Room", validators=[Optional()])
    priority = StringField("Priority", validators=[Optional()])
    department_id = IntegerField("Department", validators=[Optional()])


class ServicePointChoiceForm(FlaskForm):
    service_point_id = IntegerField(
        "Service point", validators=[InputRequired("Choose your room or counter.")]
    )


class WorkstationActionForm(FlaskForm):
    """Call next, recall, start, complete, no-show, return: the ticket the screen showed."""

    ticket_id = IntegerField("Ticket", validators=[Optional()])


class WorkstationTransferForm(FlaskForm):
    ticket_id = IntegerField("Ticket", validators=[InputRequired()])
    department_id = IntegerField(
        "Transfer to", validators=[InputRequired("Choose the department to send the patient to.")]
    )
    reason = StringField("Reason", validators=[Optional(), Length(max=500)], filters=[strip_text])

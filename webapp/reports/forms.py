"""The report pages' pickers: a day or an ISO week, and a department. They parse only;
the day and week rules are the service's (parse_day, parse_week)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Optional, ValidationError

from webapp.departments.models import Department
from webapp.extensions import db
from webapp.form_filters import strip_text


def department_choices() -> list[SelectChoice]:
    departments = db.session.scalars(select(Department).order_by(Department.name))
    return [SelectChoice("", "All departments")] + [
        SelectChoice(str(d.id), d.name) for d in departments
    ]


class ReportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET picker changes nothing

    department_id = SelectField(
        "Department",
        filters=[strip_text],
        validators=[Optional()],
        validate_choice=False,  # checked in pre_validate, with a message that says what to do
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.department_id.choices = department_choices()

    def validate_department_id(self, field: SelectField) -> None:
        if field.data and field.data not in {choice.value for choice in field.choices or []}:
            raise ValidationError("Choose a department from the list.")

    def department(self) -> int | None:
        return int(self.department_id.data) if self.department_id.data else None

    def query_args(self) -> dict[str, str]:
        """The chosen pickers as query-string values, for the CSV link of the same report."""
        return {
            name: str(field.data)
            for name, field in self._fields.items()
            if isinstance(field.data, str) and field.data
        }


class DailyReportForm(ReportForm):
    date = StringField("Day", filters=[strip_text], render_kw={"type": "date"})


class WeeklyReportForm(ReportForm):
    week = StringField(
        "ISO week",
        filters=[strip_text],
        description="As YYYY-Www, e.g. 2026-W49.",
        render_kw={"type": "week"},
    )

"""The report pages' pickers: a day or an ISO week, and a department. They parse only;
the day and week rules are the service's (parse_day, parse_week)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Optional

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
        "Department", filters=[strip_text], validators=[Optional()], validate_choice=True
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.department_id.choices = department_choices()

    def department(self) -> int | None:
        return int(self.department_id.data) if self.department_id.data else None


class DailyReportForm(ReportForm):
    date = StringField("Day", filters=[strip_text], render_kw={"type": "date"})


class WeeklyReportForm(ReportForm):
    week = StringField(
        "ISO week",
        filters=[strip_text],
        description="As YYYY-Www, e.g. 2026-W49.",
        render_kw={"type": "week"},
    )

"""Booking pages: the day view per department, the list, booking, rescheduling, cancelling."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import Field, SelectChoice

from webapp import clock
from webapp.appointments import services as appointments
from webapp.appointments.forms import (
    LOCAL_FORMAT,
    STATUS_LABELS,
    BookingForm,
    CancelForm,
    DayFilterForm,
    ListFilterForm,
    RescheduleForm,
    clinician_choices,
    department_choices,
)
from webapp.appointments.models import Appointment
from webapp.auth.permissions import role_required
from webapp.departments import services as departments
from webapp.departments.models import Department
from webapp.domain_errors import DomainError, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.form_errors import show_on_form
from webapp.patients.display import mrn_label
from webapp.patients.models import Patient
from webapp.patients.services import get_patient, search_patients

bp = Blueprint("appointments", __name__, url_prefix="/appointments")

View = str | Response | tuple[str, int]

VIEWERS = ("receptionist", "clinician", "admin")
BOOKERS = ("receptionist", "admin")
LIST_LIMIT = 500
SEARCH_LIMIT = 10
DEFAULT_DURATION = 20


@bp.app_context_processor
def appointment_helpers() -> dict[str, object]:
    return {"status_labels": STATUS_LABELS}


def _can_book() -> bool:
    return bool(current_user.is_authenticated and current_user.role in BOOKERS)


def _int_arg(name: str) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


def _patient_or_none(patient_id: int | None) -> Patient | None:
    if patient_id is None:
        return None
    try:
        return get_patient(patient_id)
    except NotFound:
        return None


def _span_text(appointment: Appointment) -> str:
    zone = clock.hospital_zone()
    start = appointment.starts_at.astimezone(zone)
    end = appointment.ends_at.astimezone(zone)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


# ---------------------------------------------------------------- day view


@dataclass(frozen=True)
class Cell:
    appointment: Appointment | None
    continued: bool  # the appointment started in an earlier slot of this column
    book_url: str | None
    past: bool


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[Cell]


def _grid(schedule: appointments.DaySchedule, can_book: bool) -> tuple[list[Row], list[int]]:
    """Rows of the day table and the ids of the appointments placed in it."""
    zone = clock.hospital_zone()
    columns: list[int | None] = [None, *[user.id for user in schedule.clinicians]]
    rows: list[Row] = []
    placed: set[int] = set()
    previous: dict[int | None, Appointment | None] = {}
    for slot in schedule.slots:
        cells = []
        for column in columns:
            appointment = schedule.cells.get((column, slot.starts_at))
            book_url = None
            if appointment is None and slot.bookable and can_book:
                book_url = url_for(
                    "appointments.new",
                    department_id=schedule.department.id,
                    clinician_id=column,
                    starts_at=slot.starts_at.astimezone(zone).strftime(LOCAL_FORMAT),
                )
            if appointment is not None:
                placed.add(appointment.id)
            cells.append(
                Cell(
                    appointment=appointment,
                    continued=appointment is not None and previous.get(column) is appointment,
                    book_url=book_url,
                    past=not slot.bookable,
                )
            )
            previous[column] = appointment
        rows.append(Row(label=slot.label, cells=cells))
    return rows, sorted(placed)


@bp.route("/day")
@role_required(*VIEWERS)
def day() -> View:
    active = departments.list_departments(active_only=True)
    form = DayFilterForm(request.args)
    department: Department | None = None
    chosen = _int_arg("department_id")
    if chosen is not None:
        department = departments.get_department(chosen)
    elif active:
        department = active[0]
    shown = list(active)
    if department is not None and department not in shown:
        shown.append(department)
    form.department_id.choices = department_choices(shown)
    status = 200 if form.validate() else 422
    if department is not None:
        form.department_id.data = str(department.id)
    the_day = form.date.data if form.date.data and not form.date.errors else clock.today()
    if not form.date.raw_data or not form.date.raw_data[0]:
        form.date.data = the_day

    context: dict[str, object] = {"form": form, "department": department, "day": the_day}
    if department is not None:
        schedule = appointments.day_schedule(department, the_day)
        rows, placed = _grid(schedule, _can_book() and department.active)
        context.update(
            schedule=schedule,
            rows=rows,
            others=[a for a in schedule.appointments if a.id not in placed],
            previous_url=url_for(
                "appointments.day",
                department_id=department.id,
                date=(the_day - timedelta(days=1)).isoformat(),
            ),
            next_url=url_for(
                "appointments.day",
                department_id=department.id,
                date=(the_day + timedelta(days=1)).isoformat(),
            ),
            today_url=url_for("appointments.day", department_id=department.id),
            can_book=_can_book() and department.active,
        )
    return render_template("appointments/day.html", **context), status


# -------------------------------------------------------------------- list


@bp.route("", endpoint="list")
@role_required(*VIEWERS)
def list_view() -> View:
    form = ListFilterForm(request.args)
    every_department = departments.list_departments()
    form.department_id.choices = [
        SelectChoice("", "Any department"),
        *department_choices(every_department),
    ]
    form.clinician_id.choices = [SelectChoice("", "Any clinician")] + [
        SelectChoice(str(user.id), user.full_name) for user in appointments.list_clinicians()
    ]
    if not request.args:
        form.date.data = clock.today()
    results: list[Appointment] | None = None
    patient = None
    if form.validate():
        patient = _patient_or_none(form.patient_id.data)
        try:
            query = appointments.appointments_query(
                day=form.date.data,
                department_id=int(form.department_id.data) if form.department_id.data else None,
                clinician_id=int(form.clinician_id.data) if form.clinician_id.data else None,
                patient_id=form.patient_id.data,
                status=form.status.data or None,
            )
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            results = [*db.session.scalars(query.limit(LIST_LIMIT + 1))]
    status = 200 if results is not None else 422
    truncated = results is not None and len(results) > LIST_LIMIT
    return render_template(
        "appointments/list.html",
        form=form,
        results=results[:LIST_LIMIT] if results is not None else None,
        truncated=truncated,
        patient=patient,
        limit=LIST_LIMIT,
    ), status


# ----------------------------------------------------------------- booking


def _booking_page(form: BookingForm) -> View:
    patient = _patient_or_none(form.patient_id.data if not form.patient_id.errors else None)
    status = 422 if request.method == "POST" else 200
    return render_template("appointments/new.html", form=form, selected_patient=patient), status


@bp.route("/new", methods=["GET", "POST"])
@role_required(*BOOKERS)
def new() -> View:
    active = departments.list_departments(active_only=True)
    form = BookingForm()
    form.department_id.choices = department_choices(active)
    form.clinician_id.choices = clinician_choices(appointments.list_clinicians())
    if request.method == "GET":
        _prefill_booking(form, active)
        return _booking_page(form)
    readable = form.validate_on_submit()
    starts_at = form.aware_starts_at()
    try:
        if readable and not form.has_errors():
            appointment = appointments.book_appointment(
                **_booking_values(form, starts_at), actor=current_user
            )
        else:
            # Let the service judge what could be read, so every problem shows at once.
            appointments.check_booking(**_booking_values(form, starts_at))
            return _booking_page(form)
    except DomainError as error:
        show_on_form(form, error, aliases=TIME_ALIASES)
        return _booking_page(form)
    with_whom = f" with {appointment.clinician.full_name}" if appointment.clinician else ""
    flash(
        f"Booked {mrn_label(appointment.patient.mrn)} for {_span_text(appointment)} "
        f"in {appointment.department.name}{with_whom}.",
        "success",
    )
    return redirect(
        url_for(
            "appointments.day",
            department_id=appointment.department_id,
            date=clock.local(appointment.starts_at).date().isoformat(),
        )
    )


# The service names the start "starts_at"; the form types it as a date and a time.
TIME_ALIASES = {"starts_at": "start_time"}


def _readable(field: Field) -> bool:
    return not field.errors


def _booking_values(form: BookingForm, starts_at: datetime | None) -> dict[str, Any]:
    """What the form could read, as the booking services take it (None: not known)."""
    return {
        "patient_id": form.patient_id.data if _readable(form.patient_id) else None,
        "department_id": int(form.department_id.data)
        if _readable(form.department_id) and form.department_id.data
        else None,
        "clinician_id": form.clinician_value() if _readable(form.clinician_id) else None,
        "starts_at": starts_at,
        "duration_minutes": form.duration_minutes.data
        if _readable(form.duration_minutes)
        else None,
        "reason": form.reason.data if _readable(form.reason) else None,
    }


def _prefill_booking(form: BookingForm, active: list[Department]) -> None:
    """Fill the booking form from the query string (a Book link of the day view)."""
    department_id = _int_arg("department_id")
    department = next((d for d in active if d.id == department_id), None)
    if department is not None:
        form.department_id.data = str(department.id)
    clinician_id = _int_arg("clinician_id")
    if clinician_id is not None and any(
        choice.value == str(clinician_id) for choice in form.clinician_id.choices or []
    ):
        form.clinician_id.data = str(clinician_id)
    with suppress(ValueError):  # no slot chosen: the date and time stay empty
        form.fill_start(datetime.strptime(request.args.get("starts_at", ""), LOCAL_FORMAT))
    patient = _patient_or_none(_int_arg("patient_id"))
    if patient is not None:
        form.patient_id.data = patient.id
    base = department or (active[0] if active else None)
    form.duration_minutes.data = base.default_service_minutes if base else DEFAULT_DURATION


@bp.route("/patient-options")
@role_required(*BOOKERS)
def patient_options() -> View:
    text = request.args.get("q", "").strip()
    selected = _patient_or_none(_int_arg("patient_id"))
    page = search_patients(text, per_page=SEARCH_LIMIT) if len(text) >= 2 else None
    found = [p for p in page.patients if selected is None or p.id != selected.id] if page else []
    return render_template(
        "appointments/_patient_options.html",
        query=text,
        selected=selected,
        found=found,
        total=page.total if page else 0,
        shown=len(page.patients) if page else 0,
        more=page is not None and page.total > len(page.patients),
        searched=page is not None,
    )


# ---------------------------------------------------------- one appointment


def _reschedule_form(appointment: Appointment) -> RescheduleForm:
    form = RescheduleForm(
        formdata=None,
        duration_minutes=appointment.duration_minutes,
        clinician_id=str(appointment.clinician_id) if appointment.clinician_id else "",
    )
    form.fill_start(appointment.starts_at)
    return form


def _set_clinician_choices(form: RescheduleForm, appointment: Appointment) -> None:
    choices = clinician_choices(appointments.list_clinicians())
    current = appointment.clinician
    if current is not None and all(choice.value != str(current.id) for choice in choices):
        choices.append(SelectChoice(str(current.id), f"{current.full_name} (inactive)"))
    form.clinician_id.choices = choices


def _show_page(
    appointment: Appointment,
    reschedule_form: RescheduleForm | None = None,
    cancel_form: CancelForm | None = None,
) -> View:
    manage = _can_book() and appointment.status == "booked"
    if manage:
        reschedule_form = reschedule_form or _reschedule_form(appointment)
        _set_clinician_choices(reschedule_form, appointment)
        cancel_form = cancel_form or CancelForm(formdata=None)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "appointments/show.html",
        appointment=appointment,
        manage=manage,
        reschedule_form=reschedule_form,
        cancel_form=cancel_form,
        day_url=url_for(
            "appointments.day",
            department_id=appointment.department_id,
            date=appointment.starts_at.astimezone(clock.hospital_zone()).date().isoformat(),
        ),
    ), status


@bp.route("/<int:appointment_id>")
@role_required(*VIEWERS)
def show(appointment_id: int) -> View:
    return _show_page(appointments.get_appointment(appointment_id))


@bp.route("/<int:appointment_id>/reschedule", methods=["POST"])
@role_required(*BOOKERS)
def reschedule(appointment_id: int) -> View:
    appointment = appointments.get_appointment(appointment_id)
    form = RescheduleForm()
    _set_clinician_choices(form, appointment)
    readable = form.validate_on_submit()
    starts_at = form.aware_starts_at()
    try:
        # A no-longer-booked appointment goes straight to the service, which says why it cannot.
        if (readable and not form.has_errors()) or appointment.status != "booked":
            appointments.reschedule_appointment(
                appointment,
                actor=current_user,
                starts_at=starts_at,
                duration_minutes=form.duration_minutes.data,
                clinician_id=form.clinician_value(),
            )
        else:
            appointments.check_reschedule(
                appointment,
                starts_at=starts_at,
                duration_minutes=form.duration_minutes.data
                if _readable(form.duration_minutes)
                else None,
                clinician_id=form.clinician_value() if _readable(form.clinician_id) else None,
            )
            return _show_page(appointment, reschedule_form=form)
    except DomainError as error:
        show_on_form(form, error, aliases=TIME_ALIASES)
        return _show_page(appointment, reschedule_form=form)
    flash(
        f"Moved the appointment of {mrn_label(appointment.patient.mrn)} "
        f"to {_span_text(appointment)}.",
        "success",
    )
    return redirect(url_for("appointments.show", appointment_id=appointment.id))


@bp.route("/<int:appointment_id>/cancel", methods=["POST"])
@role_required(*BOOKERS)
def cancel(appointment_id: int) -> View:
    appointment = appointments.get_appointment(appointment_id)
    form = CancelForm()
    # A no-longer-booked appointment goes straight to the service, which says why it cannot.
    if form.validate_on_submit() or appointment.status != "booked":
        try:
            appointments.cancel_appointment(
                appointment, actor=current_user, reason=form.reason.data or ""
            )
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(
                f"Cancelled the appointment of {mrn_label(appointment.patient.mrn)} on "
                f"{_span_text(appointment)}.",
                "success",
            )
            return redirect(url_for("appointments.show", appointment_id=appointment.id))
    return _show_page(appointment, cancel_form=form)

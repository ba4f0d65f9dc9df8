"""Front-desk patient pages: search, registration, the patient page, editing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp.appointments.forms import STATUS_LABELS as APPOINTMENT_STATUS_LABELS
from webapp.appointments.models import Appointment
from webapp.auth.permissions import role_required
from webapp.database import utcnow
from webapp.domain_errors import DomainError
from webapp.extensions import db, htmx
from webapp.form_errors import show_on_form
from webapp.notifications import log as message_log
from webapp.notifications.services import patient_notifications
from webapp.patients.display import mrn_label
from webapp.patients.forms import EditPatientForm, NewPatientForm, PatientForm
from webapp.patients.models import Patient
from webapp.patients.services import (
    PossibleDuplicate,
    check_patient,
    display_phone,
    example_phone,
    get_patient,
    register_patient,
    search_patients,
    update_patient,
    view_patient,
)
from webapp.query_inputs import page_number
from webapp.queue.models import Ticket
from webapp.queue.rules import STATUS_LABELS as TICKET_STATUS_LABELS

bp = Blueprint("patients", __name__, url_prefix="/patients")

View = str | Response | tuple[str, int]

STAFF = ("receptionist", "clinician", "admin")
FRONT_DESK = ("receptionist", "admin")
PER_PAGE = 20
MESSAGE_LIMIT = 50  # the newest messages shown on the patient's page


@bp.context_processor
def phone_helper() -> dict[str, object]:
    """``display_phone`` for this blueprint's templates: national format at home."""
    return {"display_phone": display_phone}


# Every page that names a patient's MRN (appointments, the board) writes ``mrn|mrn_label``.
bp.add_app_template_filter(mrn_label, "mrn_label")


@bp.route("")
@role_required(*STAFF)
def search() -> View | Response:
    query = (request.args.get("q") or "").strip()
    page = page_number()
    results = search_patients(query, page=page, per_page=PER_PAGE)
    context = {"q": query, "results": results}
    if htmx and not htmx.history_restore_request:
        body = render_template("patients/_results.html", **context)
    else:
        body = render_template("patients/search.html", **context)
    response = current_app.make_response(body)
    response.vary.add("HX-Request")  # the same URL answers a page or a fragment
    return response


@bp.route("/new", methods=["GET", "POST"])
@role_required(*FRONT_DESK)
def new() -> View:
    form = NewPatientForm()
    duplicate: PossibleDuplicate | None = None
    if form.validate_on_submit():
        try:
            patient = register_patient(
                **_typed_values(form),
                confirm_not_duplicate=bool(form.confirm_not_duplicate.data),
                actor=current_user,
            )
        except PossibleDuplicate as error:
            duplicate = error
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(f"Registered the patient {mrn_label(patient.mrn)}.", "success")
            return redirect(url_for("patients.show", patient_id=patient.id))
    elif form.is_submitted():
        _judge_readable_fields(form)
    return _form_page("patients/new.html", form, duplicate=duplicate)


def _typed_values(form: PatientForm) -> dict[str, Any]:
    """The form's fields as the patient services take them (empty optional fields as None)."""
    return {
        "first_name": form.first_name.data or "",
        "last_name": form.last_name.data or "",
        "date_of_birth": form.date_of_birth.data,
        "sex": form.sex.data or None,
        "phone": form.phone.data or None,
        "email": form.email.data or None,
        "sms_opt_in": bool(form.sms_opt_in.data),
        "mrn": form.mrn.data or (None if isinstance(form, NewPatientForm) else ""),
        "notes": form.notes.data or "",
    }


def _judge_readable_fields(form: PatientForm, patient: Patient | None = None) -> None:
    """Let the service judge the fields the form could read, so every error shows at once."""
    readable = {
        name: value for name, value in _typed_values(form).items() if not getattr(form, name).errors
    }
    try:
        check_patient(readable, patient=patient)
    except DomainError as error:
        show_on_form(form, error)


@bp.route("/<int:patient_id>")
@role_required(*STAFF)
def show(patient_id: int) -> View:
    patient = view_patient(patient_id, current_user)
    now = utcnow()
    appointments = list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id)
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )
    upcoming = [appointment for appointment in appointments if appointment.starts_at >= now]
    past = [appointment for appointment in appointments if appointment.starts_at < now]
    past.reverse()
    tickets = list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.patient_id == patient.id)
            .order_by(Ticket.checked_in_at.desc(), Ticket.id.desc())
        )
    )
    return render_template(
        "patients/show.html",
        patient=patient,
        upcoming=upcoming,
        past=past,
        tickets=tickets,
        messages=patient_notifications(patient.id, limit=MESSAGE_LIMIT),
        message_limit=MESSAGE_LIMIT,
        message_labels={
            "kind": message_log.KIND_LABELS,
            "channel": message_log.CHANNEL_LABELS,
            "status": message_log.STATUS_LABELS,
            "status_class": message_log.STATUS_CLASSES,
        },
        can_change=current_user.role in FRONT_DESK,
        appointment_labels=APPOINTMENT_STATUS_LABELS,
        ticket_labels=TICKET_STATUS_LABELS,
    )


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
@role_required(*FRONT_DESK)
def edit(patient_id: int) -> View:
    patient = get_patient(patient_id)
    form = EditPatientForm(obj=patient)
    if request.method == "GET":
        form.phone.data = display_phone(patient.phone)
        form.sex.data = patient.sex or ""
    if form.validate_on_submit():
        try:
            update_patient(patient, actor=current_user, **_typed_values(form))
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(f"Saved the changes to {mrn_label(patient.mrn)}.", "success")
            return redirect(url_for("patients.show", patient_id=patient.id))
    elif form.is_submitted():
        _judge_readable_fields(form, patient)
    return _form_page("patients/edit.html", form, patient=patient)


def _form_page(template: str, form: PatientForm, **context: object) -> View:
    """Render a form page; a submitted form answers 422 so nothing commits."""
    status = 422 if request.method == "POST" else 200
    region = current_app.config["DEFAULT_PHONE_REGION"]
    phone_hint = (
        f"For example {example_phone(region)}. Numbers from abroad start with + and the "
        "country code."
    )
    return render_template(template, form=form, phone_hint=phone_hint, **context), status

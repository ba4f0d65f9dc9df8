"""Appointments: booking, rescheduling, cancelling and listing.

Conflict rules: neither a clinician nor a patient may hold two overlapping
appointments (booked or checked in). Back-to-back is fine: 09:00–09:20 and
09:20–09:40 do not overlap. Times are stored in UTC and read in HOSPITAL_TIMEZONE.

Under concurrency the rule holds because a booking first locks the rows of
the clinician and the patient (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises every write transaction), then checks and inserts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, false, select

from webapp import clock
from webapp.appointments.models import APPOINTMENT_STATUSES, Appointment
from webapp.appointments.references import assign_reference
from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import MAX_ID, get_by_id, utcnow
from webapp.departments.models import Department
from webapp.departments.services import fits_opening_hours, opening_hours_text
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.domain_events import AppointmentChanged, publish
from webapp.extensions import db
from webapp.patients.models import Patient

MIN_DURATION = 5
MAX_DURATION = 480
# Statuses that occupy the clinician's and the patient's time.
OCCUPYING = ("booked", "checked_in")
REASON_MAX = 200
BOOKING_HORIZON_DAYS = 730


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(clock.hospital_zone()).strftime("%H:%M")


def _span(appointment: Appointment) -> str:
    return f"{_hhmm(appointment.starts_at)}–{_hhmm(appointment.ends_at)}"


def get_appointment(appointment_id: int) -> Appointment:
    appointment = get_by_id(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No such appointment.")
    return appointment


def _lock(model: type[Any], row_id: int) -> None:
    """Take the row lock that serialises bookings for one clinician or patient."""
    db.session.execute(select(model.id).where(model.id == row_id).with_for_update())


def _overlapping(
    column: Any, value: int, starts_at: datetime, ends_at: datetime, exclude_id: int | None
) -> Appointment | None:
    query = select(Appointment).where(
        column == value,
        Appointment.status.in_(OCCUPYING),
        Appointment.starts_at < ends_at,
        Appointment.ends_at > starts_at,
    )
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    return db.session.scalar(query.order_by(Appointment.starts_at).limit(1))


def _judge_slot(
    errors: dict[str, str],
    *,
    patient: Patient | None,
    department: Department | None,
    clinician: User | None,
    starts_at: datetime | None,
    duration_minutes: int | None,
    exclude_id: int | None = None,
) -> datetime | None:
    """Add to ``errors`` every time rule that what is known breaks; the end time if none is.

    None means "not known" and is not judged (a form whose other fields could not be
    read). An overlap is raised as :class:`Conflict` when it is the only problem, and
    is one more field error when there are others, so every problem is told at once.
    """
    _check_time_and_length(starts_at, duration_minutes, errors)
    if starts_at is None or duration_minutes is None or errors.keys() & _TIME_FIELDS:
        return None
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    try:
        if department is not None:
            _check_opening_hours(department, starts_at, ends_at)
        if patient is not None:
            _check_no_overlap(patient, clinician, starts_at, ends_at, exclude_id)
    except ValidationFailed as failure:
        errors.update(failure.errors)
        return None
    except Conflict as clash:
        if not errors:
            raise
        errors.setdefault(clash.field or "starts_at", clash.message)
        return None
    return ends_at


_TIME_FIELDS = frozenset({"starts_at", "duration_minutes"})


def _check_time_and_length(
    starts_at: datetime | None, duration_minutes: int | None, errors: dict[str, str]
) -> None:
    """An aware start from now on, within the booking horizon, and an allowed length."""
    if starts_at is None:
        pass
    elif starts_at.tzinfo is None:
        errors["starts_at"] = "Give the time with its time zone offset."
    elif starts_at < utcnow():
        errors["starts_at"] = "That time has already passed; choose a time from now on."
    elif starts_at > utcnow() + timedelta(days=BOOKING_HORIZON_DAYS):
        errors["starts_at"] = (
            f"Appointments can be booked up to {BOOKING_HORIZON_DAYS // 365} years ahead; "
            "check the year."
        )
    if duration_minutes is not None and not MIN_DURATION <= duration_minutes <= MAX_DURATION:
        errors["duration_minutes"] = (
            f"Choose a length from {MIN_DURATION} to {MAX_DURATION} minutes."
        )


def _check_opening_hours(department: Department, starts_at: datetime, ends_at: datetime) -> None:
    """The whole appointment falls within the department's opening hours."""
    if fits_opening_hours(department, starts_at, ends_at, clock.hospital_zone().key):
        return
    day = starts_at.astimezone(clock.hospital_zone()).date()
    hours = opening_hours_text(department, day)
    if hours == "closed":
        message = (
            f"{department.name} is closed on {day:%A}, so "
            f"{_hhmm(starts_at)}–{_hhmm(ends_at)} cannot be booked. Choose another day."
        )
    else:
        message = (
            f"{department.name} is open {hours} on {day:%A}; "
            f"{_hhmm(starts_at)}–{_hhmm(ends_at)} is outside that. "
            "Choose a time within the opening hours."
        )
    raise ValidationFailed({"starts_at": message})


def _check_no_overlap(
    patient: Patient,
    clinician: User | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None,
) -> None:
    """Neither the clinician nor the patient holds an overlapping appointment.

    The rows are locked first (clinician, then patient: always the same order, so two
    bookings cannot deadlock), so a concurrent booking waits and then sees this one.
    """
    if clinician is not None:
        _lock(User, clinician.id)
    _lock(Patient, patient.id)
    if clinician is not None:
        clash = _overlapping(Appointment.clinician_id, clinician.id, starts_at, ends_at, exclude_id)
        if clash is not None:
            raise Conflict(
                f"{clinician.full_name} already has an appointment {_span(clash)}. "
                "Choose another time or clinician.",
                field="starts_at",
            )
    clash = _overlapping(Appointment.patient_id, patient.id, starts_at, ends_at, exclude_id)
    if clash is not None:
        raise Conflict(
            f"The patient already has an appointment {_span(clash)} "
            f"({clash.department.name}). Choose another time.",
            field="starts_at",
        )


def _resolve(
    errors: dict[str, str],
    *,
    patient_id: int | None,
    department_id: int | None,
    clinician_id: int | None,
) -> tuple[Patient | None, Department | None, User | None]:
    """Look up the referenced rows; an unknown id is an error on that field."""
    patient = get_by_id(Patient, patient_id) if patient_id is not None else None
    if patient_id is not None and patient is None:
        errors["patient_id"] = "No patient has this id."
    department = get_by_id(Department, department_id) if department_id is not None else None
    if department_id is not None and (department is None or not department.active):
        errors["department_id"] = "Choose an active department."
    clinician = get_by_id(User, clinician_id) if clinician_id is not None else None
    if clinician_id is not None and (
        clinician is None or clinician.role != "clinician" or not clinician.active
    ):
        errors["clinician_id"] = "Choose an active clinician."
    return patient, department, clinician


def _clean_reason(reason: str | None) -> str:
    cleaned = " ".join((reason or "").split())
    if len(cleaned) > REASON_MAX:
        raise ValidationFailed({"reason": f"Use at most {REASON_MAX} characters."})
    return cleaned


@dataclass(frozen=True)
class _Booking:
    patient: Patient | None
    department: Department | None
    clinician: User | None
    reason: str
    ends_at: datetime | None


def _judge_booking(
    *,
    patient_id: int | None,
    department_id: int | None,
    clinician_id: int | None,
    starts_at: datetime | None,
    duration_minutes: int | None,
    reason: str | None,
) -> _Booking:
    """Every rule the booking breaks, at once, as ValidationFailed (an overlap alone: Conflict).

    A value that is None is not known and is not judged.
    """
    errors: dict[str, str] = {}
    try:
        cleaned_reason = _clean_reason(reason)
    except ValidationFailed as failure:
        errors.update(failure.errors)
        cleaned_reason = ""
    patient, department, clinician = _resolve(
        errors, patient_id=patient_id, department_id=department_id, clinician_id=clinician_id
    )
    ends_at = _judge_slot(
        errors,
        patient=patient,
        department=department,
        clinician=clinician,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
    )
    if errors:
        raise ValidationFailed(errors)
    return _Booking(patient, department, clinician, cleaned_reason, ends_at)


def check_booking(
    *,
    patient_id: int | None = None,
    department_id: int | None = None,
    clinician_id: int | None = None,
    starts_at: datetime | None = None,
    duration_minutes: int | None = None,
    reason: str | None = None,
) -> None:
    """Judge what is known of a booking without saving anything.

    For a form some of whose fields could not be read: the rules the readable ones
    break are told in the same round (ValidationFailed, or Conflict for an overlap
    alone). None means "not known" and is not judged.
    """
    _judge_booking(
        patient_id=patient_id,
        department_id=department_id,
        clinician_id=clinician_id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        reason=reason,
    )


def book_appointment(
    *,
    patient_id: int,
    department_id: int,
    starts_at: datetime,
    duration_minutes: int,
    actor: User | None,
    clinician_id: int | None = None,
    reason: str | None = "",
) -> Appointment:
    booking = _judge_booking(
        patient_id=patient_id,
        department_id=department_id,
        clinician_id=clinician_id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        reason=reason,
    )
    patient, department, clinician = booking.patient, booking.department, booking.clinician
    # Every value was given, so each was judged and found good.
    assert patient is not None and department is not None  # noqa: S101
    assert booking.ends_at is not None  # noqa: S101
    appointment = Appointment(
        patient_id=patient.id,
        department_id=department.id,
        clinician_id=clinician.id if clinician else None,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        ends_at=booking.ends_at,
        reason=booking.reason,
        status="booked",
        created_by_id=actor.id if actor else None,
    )
    db.session.add(appointment)
    db.session.flush()
    # The kiosk booking reference, unique among open bookings (kept when rescheduled).
    assign_reference(appointment)
    record_audit(
        "appointment.book",
        actor,
        entity_type="appointment",
        entity_id=appointment.id,
        summary=f"Booked {department.code} {clock.local_time(starts_at, '%Y-%m-%d %H:%M')} "
        f"for patient {patient.mrn}",
        details={"patient_id": patient.id, "department_id": department.id},
    )
    publish(AppointmentChanged(appointment.id, "booked"))
    return appointment


_UNSET: Any = object()


def _require_booked(appointment: Appointment, doing: str) -> None:
    if appointment.status != "booked":
        raise Conflict(
            f"This appointment is {appointment.status.replace('_', ' ')}; only a booked "
            f"appointment can be {doing}.",
            field="status",
        )


def _judge_move(
    appointment: Appointment,
    *,
    starts_at: datetime | None,
    duration_minutes: int | None,
    clinician_id: int | None,
) -> tuple[User | None, datetime | None]:
    """The new clinician and end time of a move; every broken rule at once, as for a booking."""
    errors: dict[str, str] = {}
    _, _, clinician = _resolve(
        errors, patient_id=None, department_id=None, clinician_id=clinician_id
    )
    ends_at = _judge_slot(
        errors,
        patient=appointment.patient,
        department=appointment.department,
        clinician=clinician,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        exclude_id=appointment.id,
    )
    if errors:
        raise ValidationFailed(errors)
    return clinician, ends_at


def check_reschedule(
    appointment: Appointment,
    *,
    starts_at: datetime | None = None,
    duration_minutes: int | None = None,
    clinician_id: int | None = None,
) -> None:
    """Judge what is known of a move without saving anything (see :func:`check_booking`)."""
    _require_booked(appointment, "rescheduled")
    _judge_move(
        appointment,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        clinician_id=clinician_id,
    )


def reschedule_appointment(
    appointment: Appointment,
    *,
    actor: User | None,
    starts_at: datetime | None = None,
    duration_minutes: int | None = None,
    clinician_id: int | None = _UNSET,
) -> Appointment:
    """Move a booked appointment (time, length or clinician) under the same rules as booking."""
    _require_booked(appointment, "rescheduled")
    new_clinician_id = appointment.clinician_id if clinician_id is _UNSET else clinician_id
    new_start = appointment.starts_at if starts_at is None else starts_at
    new_duration = appointment.duration_minutes if duration_minutes is None else duration_minutes
    clinician, ends_at = _judge_move(
        appointment,
        starts_at=new_start,
        duration_minutes=new_duration,
        clinician_id=new_clinician_id,
    )
    assert ends_at is not None  # noqa: S101 (every value was given, so judged)
    before = {
        "starts_at": appointment.starts_at.isoformat(),
        "duration_minutes": appointment.duration_minutes,
        "clinician_id": appointment.clinician_id,
    }
    previous_start = appointment.starts_at
    appointment.starts_at = new_start
    appointment.duration_minutes = new_duration
    appointment.ends_at = ends_at
    appointment.clinician_id = clinician.id if clinician else None
    db.session.flush()
    record_audit(
        "appointment.reschedule",
        actor,
        entity_type="appointment",
        entity_id=appointment.id,
        summary=f"Rescheduled appointment {appointment.id} to "
        f"{new_start.astimezone(clock.hospital_zone()):%Y-%m-%d %H:%M}",
        details={"before": before},
    )
    if appointment.starts_at != previous_start:  # a new clinician alone is no news to the patient
        publish(AppointmentChanged(appointment.id, "rescheduled"))
    return appointment


def cancel_appointment(appointment: Appointment, *, actor: User | None, reason: str) -> Appointment:
    """Cancel a booked appointment; it stays on record with the reason."""
    _require_booked(appointment, "cancelled")
    cleaned = _clean_reason(reason)
    if not cleaned:
        raise ValidationFailed({"reason": "Say why the appointment is cancelled."})
    appointment.status = "cancelled"
    appointment.cancel_reason = cleaned
    db.session.flush()
    record_audit(
        "appointment.cancel",
        actor,
        entity_type="appointment",
        entity_id=appointment.id,
        summary=f"Cancelled appointment {appointment.id}",
        details={"reason": cleaned},
    )
    publish(AppointmentChanged(appointment.id, "cancelled"))
    return appointment


def appointments_query(
    *,
    day: date | None = None,
    department_id: int | None = None,
    clinician_id: int | None = None,
    patient_id: int | None = None,
    status: str | None = None,
) -> Select[tuple[Appointment]]:
    """Appointments matching every filter given, ordered by start time."""
    if status is not None and status not in APPOINTMENT_STATUSES:
        raise ValidationFailed({"status": f"Use one of: {', '.join(APPOINTMENT_STATUSES)}."})
    if day is not None and not clock.in_day_range(day):
        raise ValidationFailed({"date": clock.DAY_RANGE_MESSAGE})
    query = select(Appointment)
    # An id no row can have (beyond the 32-bit keys) simply matches nothing.
    if any(
        value is not None and not 1 <= value <= MAX_ID
        for value in (department_id, clinician_id, patient_id)
    ):
        return query.where(false())
    if day is not None:
        start, end = clock.day_bounds(day)
        query = query.where(Appointment.starts_at >= start, Appointment.starts_at < end)
    if department_id is not None:
        query = query.where(Appointment.department_id == department_id)
    if clinician_id is not None:
        query = query.where(Appointment.clinician_id == clinician_id)
    if patient_id is not None:
        query = query.where(Appointment.patient_id == patient_id)
    if status is not None:
        query = query.where(Appointment.status == status)
    return query.order_by(Appointment.starts_at, Appointment.id)


def list_clinicians() -> list[User]:
    """Active clinicians, by name: the columns of the day view and the booking choices."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == "clinician", User.active.is_(True))
            .order_by(User.full_name, User.id)
        )
    )


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    label: str  # "09:20"
    bookable: bool  # inside opening hours and not in the past


@dataclass(frozen=True)
class DaySchedule:
    department: Department
    day: date
    hours_text: str
    slot_minutes: int
    slots: list[Slot]
    clinicians: list[User]
    # (clinician id or None for "any clinician", slot start) -> the appointment that covers it
    cells: dict[tuple[int | None, datetime], Appointment]
    appointments: list[Appointment]


def day_schedule(department: Department, day: date) -> DaySchedule:
    """The grid of the booking day view: clinicians × time slots within opening hours."""
    zone = clock.hospital_zone()
    # One row per visit of the department's usual length, so appointments booked back to back
    # sit in the rows where they start; a department open at all hours shows its whole day.
    slot_minutes = max(department.default_service_minutes, 5)
    weekday_hours = (
        department.opening_hours.get(
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()], []
        )
        if department.opening_hours is not None
        else [["00:00", "24:00"]]
    )
    slots: list[Slot] = []
    now = utcnow()
    step = timedelta(minutes=slot_minutes)
    for opens, closes in weekday_hours:
        # Step in UTC so that clock-change days get their real number of slots
        # (23 or 25 hours); labels are read back in local time.
        cursor = datetime.combine(day, time.fromisoformat(opens), zone).astimezone(UTC)
        close = (
            datetime.combine(day + timedelta(days=1), time.min, zone)
            if closes == "24:00"
            else datetime.combine(day, time.fromisoformat(closes), zone)
        ).astimezone(UTC)
        while cursor + step <= close:
            end = cursor + step
            label = cursor.astimezone(zone).strftime("%H:%M")
            slots.append(Slot(cursor, end, label, bookable=cursor >= now))
            cursor = end
    appointments = list(
        db.session.scalars(
            appointments_query(day=day, department_id=department.id).where(
                Appointment.status.in_(OCCUPYING)
            )
        )
    )
    cells: dict[tuple[int | None, datetime], Appointment] = {}
    for appointment in appointments:
        for slot in slots:
            if appointment.starts_at < slot.ends_at and appointment.ends_at > slot.starts_at:
                cells.setdefault((appointment.clinician_id, slot.starts_at), appointment)
    return DaySchedule(
        department=department,
        day=day,
        hours_text=opening_hours_text(department, day),
        slot_minutes=slot_minutes,
        slots=slots,
        clinicians=list_clinicians(),
        cells=cells,
        appointments=appointments,
    )

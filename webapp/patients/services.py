"""Patients: registration, changes, search and lookup. Every view and change is audited.

Used by the front-desk pages and by the API alike.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import ColumnElement, Select, func, or_, select

from webapp import clock
from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import flush_or_conflict, get_by_id
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.domain_events import PatientChanged, publish
from webapp.extensions import db
from webapp.patients.display import mrn_label
from webapp.patients.models import SEXES, Patient

MAX_AGE_YEARS = 130
MRN_PATTERN = re.compile(r"^[A-Z0-9-]{3,32}$")
NAME_MAX = 80


class PossibleDuplicate(Conflict):
    """Patients like the one being registered: same name and birth date, or same phone."""

    def __init__(self, candidates: list[Patient]) -> None:
        ids = ", ".join(mrn_label(patient.mrn) for patient in candidates)
        super().__init__(
            f"This may be a patient who is already registered ({ids}). Open the existing "
            "record, or confirm that this is a different person.",
            field="duplicate",
        )
        self.candidates = candidates


# ----------------------------------------------------------------- fields


def normalise_phone(raw: str | None) -> str | None:
    """A phone number in E.164 (``+442079460018``), read in DEFAULT_PHONE_REGION when national."""
    if raw is None or not raw.strip():
        return None
    region = current_app.config["DEFAULT_PHONE_REGION"]
    message = (
        f"Enter a valid phone number, e.g. {example_phone(region)}, "
        "or an international number starting with +."
    )
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed({"phone": message}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed({"phone": message})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def example_phone(region: str) -> str:
    example = phonenumbers.example_number(region)
    if example is None:
        return "+1 202 555 0123"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def display_phone(e164: str | None) -> str:
    """A stored number as staff read it: national format at home, international otherwise."""
    if not e164:
        return ""
    region = current_app.config["DEFAULT_PHONE_REGION"]
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _clean_name(value: str | None, field: str, label: str, errors: dict[str, str]) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        errors[field] = f"Enter the patient's {label}."
    elif len(cleaned) > NAME_MAX:
        errors[field] = f"Use at most {NAME_MAX} characters."
    return cleaned


def _check_birth_date(value: date | None, errors: dict[str, str]) -> None:
    if value is None:
        errors["date_of_birth"] = "Enter the date of birth, e.g. 1984-03-27."
        return
    today = clock.today()
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if value > today:
        errors["date_of_birth"] = "The date of birth cannot be in the future."
    elif value < oldest:
        errors["date_of_birth"] = f"That is more than {MAX_AGE_YEARS} years ago; check the year."


def _clean_email(value: str | None, errors: dict[str, str]) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = "Enter a valid email address, like name@example.org, or leave it empty."
        return None


def _clean_mrn(value: str | None, errors: dict[str, str]) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip().upper()
    if not MRN_PATTERN.match(cleaned):
        errors["mrn"] = "Use 3–32 letters, digits or dashes, or leave it empty to generate one."
    return cleaned


def _check_sex(value: str | None, errors: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    if value not in SEXES:
        errors["sex"] = "Choose female, male, other or unknown."
    return value


def _clean_phone(value: str | None, errors: dict[str, str]) -> str | None:
    try:
        return normalise_phone(value)
    except ValidationFailed as failure:
        errors.update(failure.errors)
        return None


def _check_sms_needs_phone(sms_opt_in: bool, phone: str | None, errors: dict[str, str]) -> None:
    if sms_opt_in and not phone and "phone" not in errors:
        errors["sms_opt_in"] = "SMS needs a phone number: add one or untick SMS."


def _check_mrn_free(mrn: str | None) -> None:
    """A chosen MRN is not another patient's (the unique index is the last word on races)."""
    if mrn and db.session.scalar(select(Patient.id).where(Patient.mrn == mrn)):
        raise Conflict(f"MRN {mrn} belongs to another patient.", field="mrn")


def generate_mrn() -> str:
    """A new medical record number: ``MRN`` and 8 random digits, checked to be unused."""
    while True:
        candidate = f"MRN{secrets.randbelow(10**8):08d}"
        if db.session.scalar(select(Patient.id).where(Patient.mrn == candidate)) is None:
            return candidate


# ------------------------------------------------------------- operations


def find_possible_duplicates(
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phone: str | None,
    exclude_id: int | None = None,
) -> list[Patient]:
    """Patients with the same name and date of birth, or the same phone number."""
    conditions: list[ColumnElement[bool]] = []
    if date_of_birth is not None:
        conditions.append(
            (func.lower(Patient.first_name) == first_name.lower())
            & (func.lower(Patient.last_name) == last_name.lower())
            & (Patient.date_of_birth == date_of_birth)
        )
    if phone:
        conditions.append(Patient.phone == phone)
    if not conditions:
        return []
    query = select(Patient).where(or_(*conditions)).order_by(Patient.id).limit(10)
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    return list(db.session.scalars(query))


def register_patient(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    actor: User | None,
    phone: str | None = None,
    email: str | None = None,
    sex: str | None = None,
    sms_opt_in: bool = False,
    mrn: str | None = None,
    notes: str = "",
    confirm_not_duplicate: bool = False,
) -> Patient:
    """Register a patient. Likely duplicates raise :class:`PossibleDuplicate` unless confirmed."""
    values = _clean_new_patient(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        phone=phone,
        email=email,
        sex=sex,
        sms_opt_in=sms_opt_in,
        mrn=mrn,
        notes=notes,
    )
    _check_mrn_free(values["mrn"])
    if not confirm_not_duplicate:
        candidates = find_possible_duplicates(
            values["first_name"], values["last_name"], date_of_birth, values["phone"]
        )
        if candidates:
            raise PossibleDuplicate(candidates)

    patient = Patient(**{**values, "mrn": values["mrn"] or generate_mrn()})
    db.session.add(patient)
    flush_or_conflict(f"MRN {patient.mrn} belongs to another patient.", "mrn")
    record_audit(
        "patient.create",
        actor,
        entity_type="patient",
        entity_id=patient.id,
        summary=f"Registered patient {patient.mrn}",
        details={"duplicate_confirmed": bool(confirm_not_duplicate)},
    )
    return patient


def _clean_new_patient(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phone: str | None,
    email: str | None,
    sex: str | None,
    sms_opt_in: bool,
    mrn: str | None,
    notes: str,
) -> dict[str, Any]:
    """A new patient's columns, cleaned; every problem at once as ValidationFailed.

    ``mrn`` stays None when none was given (the caller generates one).
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "first_name": _clean_name(first_name, "first_name", "first name", errors),
        "last_name": _clean_name(last_name, "last_name", "last name", errors),
        "date_of_birth": date_of_birth,
    }
    _check_birth_date(date_of_birth, errors)
    values["email"] = _clean_email(email, errors)
    values["mrn"] = _clean_mrn(mrn, errors)
    values["sex"] = _check_sex(sex, errors)
    values["phone"] = _clean_phone(phone, errors)
    values["sms_opt_in"] = sms_opt_in
    values["notes"] = (notes or "").strip()
    _check_sms_needs_phone(sms_opt_in, values["phone"], errors)
    if errors:
        raise ValidationFailed(errors)
    return values


_UNSET: Any = object()


def update_patient(
    patient: Patient,
    *,
    actor: User | None,
    first_name: str | None = None,
    last_name: str | None = None,
    date_of_birth: date | None = None,
    phone: str | None = _UNSET,
    email: str | None = _UNSET,
    sex: str | None = _UNSET,
    sms_opt_in: bool | None = None,
    mrn: str | None = None,
    notes: str | None = None,
) -> Patient:
    """Change a patient's record; only the arguments given change (``phone=None`` clears it).

    The audit row names the fields that changed, never their values (they are PHI).
    """
    # None leaves a field unchanged, except for the fields that can be cleared (to None):
    # those are left unchanged by _UNSET. The order is the order errors are reported in.
    arguments = (
        ("first_name", first_name, None),
        ("last_name", last_name, None),
        ("date_of_birth", date_of_birth, None),
        ("phone", phone, _UNSET),
        ("email", email, _UNSET),
        ("sex", sex, _UNSET),
        ("sms_opt_in", sms_opt_in, None),
        ("mrn", mrn, None),
        ("notes", notes, None),
    )
    given = {field: value for field, value, unchanged in arguments if value is not unchanged}
    new = _clean_changes(patient, given)
    if new.get("mrn") != patient.mrn:
        _check_mrn_free(new.get("mrn"))

    changed = [field for field, value in new.items() if getattr(patient, field) != value]
    for field in changed:
        setattr(patient, field, new[field])
    if not changed:
        return patient
    flush_or_conflict("That MRN belongs to another patient.", "mrn")
    # The boards show the patient's name: their queues must know.
    publish(PatientChanged(patient.id, tuple(sorted(changed))))
    record_audit(
        "patient.update",
        actor,
        entity_type="patient",
        entity_id=patient.id,
        summary=f"Changed patient {patient.mrn}: {', '.join(sorted(changed))}",
        details={"fields": sorted(changed)},
    )
    return patient


def _checked_birth_date(value: date, errors: dict[str, str]) -> date:
    _check_birth_date(value, errors)
    return value


def _required_mrn(value: str, errors: dict[str, str]) -> str | None:
    cleaned = _clean_mrn(value, errors)
    if cleaned is None and "mrn" not in errors:
        errors["mrn"] = "A patient always has an MRN; enter one."
    return cleaned


# How update_patient cleans each field it is given; each adds its problems to ``errors``.
_CHANGE_CLEANERS: dict[str, Callable[[Any, dict[str, str]], Any]] = {
    "first_name": lambda value, errors: _clean_name(value, "first_name", "first name", errors),
    "last_name": lambda value, errors: _clean_name(value, "last_name", "last name", errors),
    "date_of_birth": _checked_birth_date,
    "phone": _clean_phone,
    "email": _clean_email,
    "sex": _check_sex,
    "sms_opt_in": lambda value, _errors: value,
    "mrn": _required_mrn,
    "notes": lambda value, _errors: value.strip(),
}


def _clean_changes(patient: Patient, given: dict[str, Any]) -> dict[str, Any]:
    """The given fields' new values, cleaned; every problem at once as ValidationFailed."""
    errors: dict[str, str] = {}
    new = {field: _CHANGE_CLEANERS[field](value, errors) for field, value in given.items()}
    _check_sms_needs_phone(
        new.get("sms_opt_in", patient.sms_opt_in), new.get("phone", patient.phone), errors
    )
    if errors:
        raise ValidationFailed(errors)
    return new


# A new patient's MRN may be left empty (one is generated).
_NEW_CLEANERS = {**_CHANGE_CLEANERS, "mrn": _clean_mrn}


def check_patient(fields: Mapping[str, Any], *, patient: Patient | None = None) -> None:
    """Judge some fields of a new patient (or of a change to ``patient``) without saving.

    For a form some of whose fields could not be read: the rules the readable ones
    break are told in the same round, as one ValidationFailed. Only the fields given
    are judged (their names and values as :func:`update_patient` takes them); the
    duplicate check waits for the whole record.
    """
    errors: dict[str, str] = {}
    cleaners = _NEW_CLEANERS if patient is None else _CHANGE_CLEANERS
    new = {field: cleaners[field](value, errors) for field, value in fields.items()}
    if "sms_opt_in" in new and "phone" in new:
        _check_sms_needs_phone(new["sms_opt_in"], new["phone"], errors)
    mrn = new.get("mrn")
    if mrn and "mrn" not in errors and (patient is None or mrn != patient.mrn):
        try:
            _check_mrn_free(mrn)
        except Conflict as taken:
            errors["mrn"] = taken.message
    if errors:
        raise ValidationFailed(errors)


def get_patient(patient_id: int) -> Patient:
    """A patient, without auditing (for internal use: checks, relations)."""
    patient = get_by_id(Patient, patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def view_patient(patient_id: int, actor: User | None) -> Patient:
    """A patient record opened by a person: the view is written to the audit log."""
    patient = get_patient(patient_id)
    record_audit(
        "patient.view",
        actor,
        entity_type="patient",
        entity_id=patient.id,
        summary=f"Viewed patient {patient.mrn}",
    )
    return patient


def _digits(text: str) -> str:
    return "".join(character for character in text if character.isdigit())


def search_query(text: str) -> Select[tuple[Patient]]:
    """Patients matching ``text`` by name, MRN or phone, partially and case-insensitively.

    A phone fragment matches whatever way it is typed: "(201) 555-01", "201.555.01"
    and "2015550" all find +12015550123; a national trunk 0 is ignored ("07700 9"
    finds +447700900123).
    """
    words = text.strip().lower().split()
    query = select(Patient)
    if not words:
        return query.order_by(Patient.last_name, Patient.first_name, Patient.id)
    conditions = []
    full_name = func.lower(Patient.first_name + " " + Patient.last_name)
    reversed_name = func.lower(Patient.last_name + " " + Patient.first_name)
    phrase = " ".join(words)
    escaped = phrase.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions.append(full_name.like(f"%{escaped}%", escape="\\"))
    conditions.append(reversed_name.like(f"%{escaped}%", escape="\\"))
    conditions.append(func.lower(Patient.mrn).like(f"%{escaped}%", escape="\\"))
    digits = _digits(phrase)
    if len(digits) >= 3 and len(digits) >= len(phrase.replace(" ", "")) - 6:
        conditions.append(Patient.phone.like(f"%{digits}%"))
        if digits.startswith("0") and len(digits.lstrip("0")) >= 3:
            conditions.append(Patient.phone.like(f"%{digits.lstrip('0')}%"))
    return query.where(or_(*conditions)).order_by(Patient.last_name, Patient.first_name, Patient.id)


@dataclass(frozen=True)
class PatientPage:
    patients: list[Patient]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_patients(text: str, *, page: int = 1, per_page: int = 20) -> PatientPage:
    """One page of :func:`search_query`.

    Searches are not audited (live search runs on every keystroke); opening a
    record is, through :func:`view_patient`.
    """
    query = search_query(text)
    total = (
        db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )
    patients = list(db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)))
    return PatientPage(patients=patients, total=total, page=page, per_page=per_page)

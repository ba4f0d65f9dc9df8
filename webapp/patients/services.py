"""Patients: registration, changes, search and lookup. Every view and change is audited.

Used by the front-desk pages and by the API alike.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from webapp import clock
from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import get_by_id
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.patients.models import SEXES, Patient

MAX_AGE_YEARS = 130
MRN_PATTERN = re.compile(r"^[A-Z0-9-]{3,32}$")
NAME_MAX = 80


class PossibleDuplicate(Conflict):
    """Patients like the one being registered: same name and birth date, or same phone."""

    def __init__(self, candidates: list[Patient]) -> None:
        ids = ", ".join(f"{patient.mrn}" for patient in candidates)
        super().__init__(
            f"This may be a patient who is already registered (MRN {ids}). Open the existing "
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
    errors: dict[str, str] = {}
    first = _clean_name(first_name, "first_name", "first name", errors)
    last = _clean_name(last_name, "last_name", "last name", errors)
    _check_birth_date(date_of_birth, errors)
    clean_email = _clean_email(email, errors)
    clean_mrn = _clean_mrn(mrn, errors)
    clean_sex = _check_sex(sex, errors)
    try:
        clean_phone = normalise_phone(phone)
    except ValidationFailed as failure:
        errors.update(failure.errors)
        clean_phone = None
    if sms_opt_in and not clean_phone and "phone" not in errors:
        errors["sms_opt_in"] = "SMS needs a phone number: add one or untick SMS."
    if errors:
        raise ValidationFailed(errors)
    if clean_mrn and db.session.scalar(select(Patient.id).where(Patient.mrn == clean_mrn)):
        raise Conflict(f"MRN {clean_mrn} belongs to another patient.", field="mrn")
    if not confirm_not_duplicate:
        candidates = find_possible_duplicates(first, last, date_of_birth, clean_phone)
        if candidates:
            raise PossibleDuplicate(candidates)

    patient = Patient(
        mrn=clean_mrn or generate_mrn(),
        first_name=first,
        last_name=last,
        date_of_birth=date_of_birth,
        sex=clean_sex,
        phone=clean_phone,
        email=clean_email,
        sms_opt_in=sms_opt_in,
        notes=(notes or "").strip(),
    )
    db.session.add(patient)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"MRN {patient.mrn} belongs to another patient.", field="mrn") from None
    record_audit(
        "patient.create",
        actor,
        entity_type="patient",
        entity_id=patient.id,
        summary=f"Registered patient {patient.mrn}",
        details={"duplicate_confirmed": bool(confirm_not_duplicate)},
    )
    return patient


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
    errors: dict[str, str] = {}
    new: dict[str, Any] = {}
    if first_name is not None:
        new["first_name"] = _clean_name(first_name, "first_name", "first name", errors)
    if last_name is not None:
        new["last_name"] = _clean_name(last_name, "last_name", "last name", errors)
    if date_of_birth is not None:
        _check_birth_date(date_of_birth, errors)
        new["date_of_birth"] = date_of_birth
    if phone is not _UNSET:
        try:
            new["phone"] = normalise_phone(phone)
        except ValidationFailed as failure:
            errors.update(failure.errors)
    if email is not _UNSET:
        new["email"] = _clean_email(email, errors)
    if sex is not _UNSET:
        new["sex"] = _check_sex(sex, errors)
    if sms_opt_in is not None:
        new["sms_opt_in"] = sms_opt_in
    if mrn is not None:
        cleaned = _clean_mrn(mrn, errors)
        if cleaned is None and "mrn" not in errors:
            errors["mrn"] = "A patient always has an MRN; enter one."
        new["mrn"] = cleaned
    if notes is not None:
        new["notes"] = notes.strip()
    final_phone = new.get("phone", patient.phone)
    if new.get("sms_opt_in", patient.sms_opt_in) and not final_phone and "phone" not in errors:
        errors["sms_opt_in"] = "SMS needs a phone number: add one or untick SMS."
    if errors:
        raise ValidationFailed(errors)
    if (
        new.get("mrn")
        and new["mrn"] != patient.mrn
        and db.session.scalar(select(Patient.id).where(Patient.mrn == new["mrn"]))
    ):
        raise Conflict(f"MRN {new['mrn']} belongs to another patient.", field="mrn")

    changed = [field for field, value in new.items() if getattr(patient, field) != value]
    for field in changed:
        setattr(patient, field, new[field])
    if not changed:
        return patient
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict("That MRN belongs to another patient.", field="mrn") from None
    record_audit(
        "patient.update",
        actor,
        entity_type="patient",
        entity_id=patient.id,
        summary=f"Changed patient {patient.mrn}: {', '.join(sorted(changed))}",
        details={"fields": sorted(changed)},
    )
    return patient


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

"""Patients at the service level: registration rules, changes, lookup, audit and search."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.factories import PatientFactory
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.patients.services import (
    PossibleDuplicate,
    check_patient,
    display_phone,
    get_patient,
    register_patient,
    search_query,
    update_patient,
    view_patient,
)

TODAY = date(2025, 6, 15)


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    with time_machine.travel(datetime(2025, 6, 15, 12, 0, tzinfo=UTC), tick=False):
        yield


def register(actor: User | None = None, **fields: Any) -> Patient:
    values: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": date(1985, 12, 10),
        "actor": actor,
    }
    values.update(fields)
    return register_patient(**values)


def validation_errors(**fields: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failure:
        register(**fields)
    return failure.value.errors


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def found(text: str) -> list[Patient]:
    return list(db.session.scalars(search_query(text)))


# ------------------------------------------------------------------ names


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", None])
def test_register_requires_a_first_name(app: Flask, blank: str | None) -> None:
    assert validation_errors(first_name=blank) == {"first_name": "Enter the patient's first name."}


@pytest.mark.parametrize("blank", ["", "   "])
def test_register_requires_a_last_name(app: Flask, blank: str) -> None:
    assert validation_errors(last_name=blank) == {"last_name": "Enter the patient's last name."}


def test_register_refuses_names_longer_than_80_characters(app: Flask) -> None:
    errors = validation_errors(first_name="A" * 81, last_name="B" * 81)

    assert errors == {
        "first_name": "Use at most 80 characters.",
        "last_name": "Use at most 80 characters.",
    }


def test_register_accepts_80_characters_and_tidies_spaces(app: Flask) -> None:
    patient = register(first_name="A" * 80, last_name="  van   der  Berg ")

    assert patient.first_name == "A" * 80
    assert patient.last_name == "van der Berg"


# ------------------------------------------------------------ date of birth


def test_register_requires_a_date_of_birth(app: Flask) -> None:
    assert validation_errors(date_of_birth=None) == {
        "date_of_birth": "Enter the date of birth, e.g. 1984-03-27."
    }


def test_register_refuses_a_date_of_birth_tomorrow(app: Flask) -> None:
    assert validation_errors(date_of_birth=date(2025, 6, 16)) == {
        "date_of_birth": "The date of birth cannot be in the future."
    }


def test_register_accepts_a_baby_born_today(app: Flask) -> None:
    assert register(date_of_birth=TODAY).date_of_birth == TODAY


def test_register_accepts_exactly_130_years_ago(app: Flask) -> None:
    assert register(date_of_birth=date(1895, 6, 15)).date_of_birth == date(1895, 6, 15)


def test_register_refuses_130_years_and_one_day_ago(app: Flask) -> None:
    assert validation_errors(date_of_birth=date(1895, 6, 14)) == {
        "date_of_birth": "That is more than 130 years ago; check the year."
    }


def test_the_130_year_limit_on_29_february(app: Flask) -> None:
    # 1894 has no 29 February: the oldest accepted birthday is 28 February 1894.
    with time_machine.travel(datetime(2024, 2, 29, 12, 0, tzinfo=UTC), tick=False):
        assert register(date_of_birth=date(1894, 2, 28)).date_of_birth == date(1894, 2, 28)
        assert register(date_of_birth=date(2024, 2, 29), first_name="Leap").id
        errors = validation_errors(date_of_birth=date(1894, 2, 27))
    assert errors == {"date_of_birth": "That is more than 130 years ago; check the year."}


@pytest.mark.parametrize("app_config", [{"HOSPITAL_TIMEZONE": "Pacific/Auckland"}])
def test_today_is_the_hospitals_today(app: Flask) -> None:
    # 12:00 UTC on 15 June is already 16 June in Auckland: a baby born "today" there is fine.
    assert register(date_of_birth=date(2025, 6, 16)).date_of_birth == date(2025, 6, 16)


# ------------------------------------------------------------------ phone


@pytest.mark.parametrize("raw", ["12", "not a number", "+1 555", "(201) 555-012"])
def test_register_refuses_an_invalid_phone_and_shows_an_example(app: Flask, raw: str) -> None:
    message = validation_errors(phone=raw)["phone"]

    assert message.startswith("Enter a valid phone number, e.g. ")
    assert re.search(r"\d{3}.*\d{4}", message), message  # an example number
    assert "international number starting with +" in message


def test_register_reads_a_national_number_in_the_default_region_us(app: Flask) -> None:
    assert app.config["DEFAULT_PHONE_REGION"] == "US"

    assert register(phone="(201) 555-0123").phone == "+12015550123"


@pytest.mark.parametrize("app_config", [{"DEFAULT_PHONE_REGION": "GB"}])
def test_register_reads_a_national_number_in_the_default_region_gb(app: Flask) -> None:
    assert register(phone="020 7946 0018").phone == "+442079460018"


@pytest.mark.parametrize("app_config", [{"DEFAULT_PHONE_REGION": "GB"}])
def test_the_example_number_is_from_the_default_region(app: Flask) -> None:
    message = validation_errors(phone="12")["phone"]

    assert re.search(r"e\.g\. 0\d", message), message  # a UK national number, like 0121 …


def test_register_accepts_an_international_number_in_any_region(app: Flask) -> None:
    assert register(phone="+44 20 7946 0018").phone == "+442079460018"


def test_a_blank_phone_is_no_phone(app: Flask) -> None:
    assert register(phone="   ").phone is None


# ------------------------------------------------------ email, sex, sms, notes


@pytest.mark.parametrize("raw", ["ada", "ada@", "ada@@example.org", "a b@example.org"])
def test_register_refuses_an_invalid_email(app: Flask, raw: str) -> None:
    assert validation_errors(email=raw) == {
        "email": "Enter a valid email address, like name@example.org, or leave it empty."
    }


def test_register_normalises_a_valid_email(app: Flask) -> None:
    assert register(email="  ada@EXAMPLE.org ").email == "ada@example.org"


def test_register_stores_no_email_when_blank(app: Flask) -> None:
    assert register(email="").email is None


def test_register_refuses_a_sex_not_in_the_list(app: Flask) -> None:
    assert validation_errors(sex="robot") == {"sex": "Choose female, male, other or unknown."}


@pytest.mark.parametrize("sex", ["female", "male", "other", "unknown"])
def test_register_accepts_each_listed_sex(app: Flask, sex: str) -> None:
    assert register(sex=sex).sex == sex


def test_register_refuses_sms_consent_without_a_phone(app: Flask) -> None:
    assert validation_errors(sms_opt_in=True) == {
        "sms_opt_in": "SMS needs a phone number: add one or untick SMS."
    }


def test_an_invalid_phone_is_reported_once_not_also_as_missing_for_sms(app: Flask) -> None:
    errors = validation_errors(sms_opt_in=True, phone="12")

    assert set(errors) == {"phone"}


def test_register_reports_every_invalid_field_at_once(app: Flask) -> None:
    errors = validation_errors(first_name="", date_of_birth=None, email="x", sex="x")

    assert set(errors) == {"first_name", "date_of_birth", "email", "sex"}


# ------------------------------------------------------------------- MRN


def test_register_generates_a_unique_mrn_when_blank(app: Flask) -> None:
    patients = [
        register(first_name=f"Person{index}", mrn=blank)
        for index, blank in enumerate([None, "", "  "] * 4)
    ]

    mrns = [patient.mrn for patient in patients]
    assert all(re.fullmatch(r"MRN\d{8}", mrn) for mrn in mrns), mrns
    assert len(set(mrns)) == len(mrns)


def test_register_keeps_a_given_mrn_upper_cased(app: Flask) -> None:
    assert register(mrn="  ab-12345 ").mrn == "AB-12345"


def test_register_refuses_a_malformed_mrn(app: Flask) -> None:
    assert set(validation_errors(mrn="A!")) == {"mrn"}


def test_register_refuses_a_duplicate_mrn(app: Flask) -> None:
    register(mrn="AB-12345")

    with pytest.raises(Conflict) as conflict:
        register(first_name="Grace", last_name="Hopper", mrn="ab-12345")

    assert conflict.value.field == "mrn"
    assert conflict.value.message == "MRN AB-12345 belongs to another patient."
    assert db.session.scalar(select(Patient).where(Patient.first_name == "Grace")) is None


# ---------------------------------------------------------- likely duplicates


def test_same_name_in_any_case_and_same_birth_date_is_a_possible_duplicate(app: Flask) -> None:
    existing = register()

    with pytest.raises(PossibleDuplicate) as duplicate:
        register(first_name="ADA", last_name="lovelace")

    assert duplicate.value.candidates == [existing]
    assert duplicate.value.field == "duplicate"
    assert existing.mrn in duplicate.value.message
    assert isinstance(duplicate.value, Conflict)


def test_same_name_with_another_birth_date_is_not_a_duplicate(app: Flask) -> None:
    register()

    assert register(date_of_birth=date(1985, 12, 11)).id


def test_same_birth_date_with_another_name_is_not_a_duplicate(app: Flask) -> None:
    register()

    assert register(first_name="Augusta").id


def test_same_phone_in_another_format_is_a_possible_duplicate(app: Flask) -> None:
    existing = register(phone="(201) 555-0123")

    with pytest.raises(PossibleDuplicate) as duplicate:
        register(first_name="Grace", last_name="Hopper", phone="+1 201-555-0123")

    assert duplicate.value.candidates == [existing]


def test_confirming_not_a_duplicate_registers_and_is_audited(app: Flask) -> None:
    register(phone="2015550123")

    patient = register(phone="201.555.0123", confirm_not_duplicate=True)

    assert patient.id
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity_id == patient.id)).details == {
        "duplicate_confirmed": True
    }


def test_register_writes_a_patient_create_audit_row(app: Flask, receptionist: User) -> None:
    patient = register(actor=receptionist)

    [row] = audit_rows("patient.create")
    assert row.user_id == receptionist.id
    assert (row.entity_type, row.entity_id) == ("patient", patient.id)
    assert patient.mrn in row.summary
    assert "Ada" not in row.summary and "Lovelace" not in row.summary


def test_a_refused_registration_writes_no_audit_row(app: Flask) -> None:
    validation_errors(first_name="")

    assert audit_rows("patient.create") == []


# ------------------------------------------------------------------ update


def test_update_changes_only_the_fields_given(app: Flask) -> None:
    patient = register(phone="2015550123", email="ada@example.org", sex="female", notes="n")

    update_patient(patient, actor=None, last_name="King")

    assert (patient.first_name, patient.last_name) == ("Ada", "King")
    assert patient.phone == "+12015550123"
    assert patient.email == "ada@example.org"
    assert patient.sex == "female"
    assert patient.notes == "n"
    assert patient.date_of_birth == date(1985, 12, 10)


def test_update_with_phone_none_clears_the_phone(app: Flask) -> None:
    patient = register(phone="2015550123")

    update_patient(patient, actor=None, phone=None)

    assert patient.phone is None


def test_update_normalises_a_new_phone(app: Flask) -> None:
    patient = register()

    update_patient(patient, actor=None, phone="201 555 0199")

    assert patient.phone == "+12015550199"


def test_update_validates_like_register(app: Flask) -> None:
    patient = register()

    with pytest.raises(ValidationFailed) as failure:
        update_patient(
            patient, actor=None, first_name=" ", date_of_birth=date(2025, 6, 16), email="x"
        )

    assert set(failure.value.errors) == {"first_name", "date_of_birth", "email"}
    assert patient.first_name == "Ada"


def test_update_to_another_patients_mrn_is_a_conflict(app: Flask) -> None:
    register(mrn="TAKEN-1")
    patient = register(first_name="Grace", mrn="MINE-1")

    with pytest.raises(Conflict) as conflict:
        update_patient(patient, actor=None, mrn="taken-1")

    assert conflict.value.field == "mrn"
    assert patient.mrn == "MINE-1"


def test_update_to_a_new_unused_mrn(app: Flask) -> None:
    patient = register(mrn="OLD-1")

    update_patient(patient, actor=None, mrn="new-2")

    assert patient.mrn == "NEW-2"


def test_update_cannot_blank_the_mrn(app: Flask) -> None:
    patient = register()

    with pytest.raises(ValidationFailed) as failure:
        update_patient(patient, actor=None, mrn="  ")

    assert failure.value.errors == {"mrn": "A patient always has an MRN; enter one."}


def test_update_sms_consent_needs_a_phone(app: Flask) -> None:
    patient = register()

    with pytest.raises(ValidationFailed) as failure:
        update_patient(patient, actor=None, sms_opt_in=True)

    assert failure.value.errors == {
        "sms_opt_in": "SMS needs a phone number: add one or untick SMS."
    }


def test_update_cannot_clear_the_phone_of_a_patient_who_wants_sms(app: Flask) -> None:
    patient = register(phone="2015550123", sms_opt_in=True)

    with pytest.raises(ValidationFailed) as failure:
        update_patient(patient, actor=None, phone=None)

    assert set(failure.value.errors) == {"sms_opt_in"}
    assert patient.phone == "+12015550123"


def test_update_consent_and_phone_together(app: Flask) -> None:
    patient = register()

    update_patient(patient, actor=None, phone="2015550123", sms_opt_in=True)

    assert (patient.phone, patient.sms_opt_in) == ("+12015550123", True)


def test_update_audit_names_the_fields_but_not_their_values(app: Flask, receptionist: User) -> None:
    patient = register(phone="2015550123")

    update_patient(
        patient, actor=receptionist, first_name="Augusta", phone="2015550199", sex="female"
    )

    [row] = audit_rows("patient.update")
    assert row.details == {"fields": ["first_name", "phone", "sex"]}
    assert row.user_id == receptionist.id
    assert row.entity_id == patient.id
    for value in ("Augusta", "Ada", "2015550199", "2015550123", "female"):
        assert value not in row.summary
        assert value not in str(row.details)


def test_update_without_a_change_writes_no_audit_row(app: Flask) -> None:
    patient = register(phone="2015550123")

    update_patient(patient, actor=None, first_name="Ada", phone="(201) 555-0123")

    assert audit_rows("patient.update") == []


# ------------------------------------------------------------------ lookup


def test_view_patient_writes_a_view_audit_row(app: Flask, receptionist: User) -> None:
    patient = PatientFactory()

    assert view_patient(patient.id, receptionist) is patient

    [row] = audit_rows("patient.view")
    assert (row.user_id, row.entity_type, row.entity_id) == (receptionist.id, "patient", patient.id)


def test_get_patient_writes_no_audit_row(app: Flask) -> None:
    patient = PatientFactory()

    assert get_patient(patient.id) is patient

    assert audit_rows("patient.view") == []


@pytest.mark.parametrize("patient_id", [0, -1, 999_999, 2**31, 2**63, 2**64])
def test_unknown_and_out_of_range_ids_are_not_found(app: Flask, patient_id: int) -> None:
    PatientFactory()

    with pytest.raises(NotFound):
        get_patient(patient_id)
    with pytest.raises(NotFound):
        view_patient(patient_id, None)
    assert audit_rows("patient.view") == []


# ------------------------------------------------------------------ search


@pytest.fixture
def people(app: Flask) -> dict[str, Patient]:
    patients = {
        "ada": PatientFactory(
            first_name="Ada", last_name="Lovelace", mrn="MRN00012345", phone="+12015550123"
        ),
        "grace": PatientFactory(
            first_name="Grace", last_name="Hopper", mrn="MRN00099999", phone="+447700900123"
        ),
        "alan": PatientFactory(first_name="Alan", last_name="Turing", mrn="T-77", phone=None),
    }
    db.session.commit()
    return patients


@pytest.mark.parametrize(
    "text", ["ada", "Lovelace", "ADA LOVE", "ada lovelace", "lovelace ada", "  ada   lovelace "]
)
def test_search_finds_by_name_fragments_in_any_case(people: dict[str, Patient], text: str) -> None:
    assert found(text) == [people["ada"]]


def test_search_finds_a_partial_name_inside_a_word(people: dict[str, Patient]) -> None:
    assert found("opp") == [people["grace"]]


def test_search_finds_by_mrn_fragment(people: dict[str, Patient]) -> None:
    assert found("mrn0001") == [people["ada"]]
    assert found("t-77") == [people["alan"]]


@pytest.mark.parametrize("text", ["(201) 555-01", "201.555.01", "2015550", "+1 201 555 0123"])
def test_search_finds_by_phone_fragment_in_any_format(
    people: dict[str, Patient], text: str
) -> None:
    assert found(text) == [people["ada"]]


def test_search_ignores_a_national_trunk_zero(people: dict[str, Patient]) -> None:
    assert found("07700 9") == [people["grace"]]


@pytest.mark.parametrize("text", ["%", "_", "%%", "a%e", "_da", "\\"])
def test_search_treats_like_wildcards_literally(people: dict[str, Patient], text: str) -> None:
    assert found(text) == []


def test_search_finds_a_literal_percent_or_underscore(app: Flask) -> None:
    odd = PatientFactory(first_name="Per%cent", last_name="Under_score")

    assert found("%") == [odd]
    assert found("r_s") == [odd]


def test_an_empty_search_lists_everyone_by_last_name(people: dict[str, Patient]) -> None:
    assert found("  ") == [people["grace"], people["ada"], people["alan"]]


def test_search_finds_nothing_for_a_stranger(people: dict[str, Patient]) -> None:
    assert found("Babbage") == []


# ----------------------------------------------------------- display_phone


def test_display_phone_is_national_for_the_home_region(app: Flask) -> None:
    assert display_phone("+12015550123") == "(201) 555-0123"


def test_display_phone_is_international_otherwise(app: Flask) -> None:
    assert display_phone("+442079460018") == "+44 20 7946 0018"


@pytest.mark.parametrize("app_config", [{"DEFAULT_PHONE_REGION": "GB"}])
def test_display_phone_follows_the_configured_region(app: Flask) -> None:
    assert display_phone("+442079460018") == "020 7946 0018"
    assert display_phone("+12015550123") == "+1 201-555-0123"


@pytest.mark.parametrize("value", [None, ""])
def test_display_phone_of_no_phone_is_empty(app: Flask, value: str | None) -> None:
    assert display_phone(value) == ""


# ------------------------------------------------------- judging without saving


def test_check_patient_judges_only_the_fields_given(app: Flask) -> None:
    with pytest.raises(ValidationFailed) as failure:
        check_patient({"phone": "12", "email": "nope", "sex": "x", "notes": " fine "})
    assert set(failure.value.errors) == {"phone", "email", "sex"}
    check_patient({"last_name": "Hopper", "phone": "(201) 555-0123"})  # nothing wrong
    assert db.session.scalars(select(Patient)).first() is None


def test_check_patient_tells_sms_without_phone_and_a_taken_mrn(app: Flask) -> None:
    taken = PatientFactory(mrn="MRN00000001")
    with pytest.raises(ValidationFailed) as failure:
        check_patient({"sms_opt_in": True, "phone": None, "mrn": "mrn00000001"})
    assert failure.value.errors == {
        "sms_opt_in": "SMS needs a phone number: add one or untick SMS.",
        "mrn": "MRN MRN00000001 belongs to another patient.",
    }
    # The patient's own MRN is not "taken"; on a change the MRN cannot be emptied.
    check_patient({"mrn": "MRN00000001"}, patient=taken)
    with pytest.raises(ValidationFailed) as failure:
        check_patient({"mrn": ""}, patient=taken)
    assert failure.value.errors == {"mrn": "A patient always has an MRN; enter one."}


def test_the_duplicate_warning_names_each_generated_mrn_once(app: Flask) -> None:
    PatientFactory(
        first_name="Ada", last_name="Lovelace", date_of_birth=date(1990, 1, 2), mrn="MRN00000007"
    )
    with pytest.raises(PossibleDuplicate) as duplicate:
        register(first_name="Ada", last_name="Lovelace", date_of_birth=date(1990, 1, 2))
    assert "(MRN00000007)" in duplicate.value.message
    assert "MRN MRN" not in duplicate.value.message

"""The patient forms only parse input: shapes and friendly messages, no business rules."""

from __future__ import annotations

from datetime import date

from flask import Flask
from werkzeug.datastructures import MultiDict

from webapp.patients.forms import SEX_CHOICES, EditPatientForm, NewPatientForm


def _post(app: Flask, form_class: type, **data: str):  # type: ignore[no-untyped-def]
    with app.test_request_context(method="POST", data=MultiDict(data)):
        form = form_class()
        form.validate()
        return form


COMPLETE = {"first_name": " Grace ", "last_name": "Hopper", "date_of_birth": "1986-12-09"}


def test_a_complete_form_is_valid_and_stripped(app: Flask) -> None:
    form = _post(app, NewPatientForm, **COMPLETE, phone=" 201 555 0123 ", notes="  hi  ")
    assert form.errors == {}
    assert form.first_name.data == "Grace"
    assert form.date_of_birth.data == date(1986, 12, 9)
    assert form.phone.data == "201 555 0123" and form.notes.data == "hi"
    assert form.sex.data == "" and form.sms_opt_in.data is False
    assert form.confirm_not_duplicate.data is False


def test_names_and_birth_date_are_required(app: Flask) -> None:
    form = _post(app, NewPatientForm, first_name="  ", last_name="", date_of_birth="")
    assert form.errors == {
        "first_name": ["Enter the patient's first name."],
        "last_name": ["Enter the patient's last name."],
        "date_of_birth": ["Enter the date of birth, e.g. 1984-03-27."],
    }


def test_an_unreadable_birth_date_says_what_to_type(app: Flask) -> None:
    form = _post(app, NewPatientForm, **{**COMPLETE, "date_of_birth": "9 Dec 86"})
    assert form.errors == {"date_of_birth": ["Enter the date of birth as a date, e.g. 1984-03-27."]}


def test_sex_offers_not_recorded_and_the_four_values(app: Flask) -> None:
    assert [choice.value for choice in SEX_CHOICES] == ["", "female", "male", "other", "unknown"]
    assert SEX_CHOICES[0].label == "Not recorded"
    assert _post(app, NewPatientForm, **COMPLETE, sex="male").errors == {}
    assert "sex" in _post(app, NewPatientForm, **COMPLETE, sex="alien").errors


def test_checkboxes_read_ticked_values(app: Flask) -> None:
    form = _post(app, NewPatientForm, **COMPLETE, sms_opt_in="y", confirm_not_duplicate="y")
    assert form.sms_opt_in.data is True and form.confirm_not_duplicate.data is True


def test_rules_are_left_to_the_service(app: Flask) -> None:
    """Bad phone, email, MRN or a future birth date pass the form; the service refuses them."""
    form = _post(
        app,
        NewPatientForm,
        **{**COMPLETE, "date_of_birth": "2999-01-01"},
        phone="123",
        email="nope",
        mrn="!!",
    )
    assert form.errors == {}


def test_the_mrn_is_optional_when_registering_but_required_when_editing(app: Flask) -> None:
    assert _post(app, NewPatientForm, **COMPLETE, mrn="").errors == {}
    assert _post(app, EditPatientForm, **COMPLETE, mrn=" ").errors == {
        "mrn": ["A patient always has an MRN; enter one."]
    }


def test_only_the_register_form_asks_to_confirm_a_duplicate(app: Flask) -> None:
    with app.test_request_context():
        assert "confirm_not_duplicate" in NewPatientForm()._fields
        assert "confirm_not_duplicate" not in EditPatientForm()._fields

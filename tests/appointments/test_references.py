"""Booking references (webapp/appointments/references.py): the alphabet, uniqueness among
open bookings, the retry on a clash, and reading what a patient typed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.factories import AppointmentFactory, DepartmentFactory, PatientFactory
from webapp.appointments import references
from webapp.appointments.models import Appointment
from webapp.appointments.references import (
    ALPHABET,
    assign_reference,
    find_open_by_reference,
    is_well_formed,
    new_reference,
    normalise,
)
from webapp.appointments.services import (
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from webapp.departments.models import Department
from webapp.domain_errors import Conflict
from webapp.extensions import db
from webapp.patients.models import Patient

NOW = datetime.fromisoformat("2026-03-02T08:00:00+00:00")
REFERENCE = re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ2-9]{6}$")


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def anytime(app: Flask) -> Department:
    department = DepartmentFactory(code="ANY", opening_hours=None)
    db.session.commit()
    return department


@pytest.fixture
def patient(app: Flask) -> Patient:
    person = PatientFactory()
    db.session.commit()
    return person


def book(patient: Patient, department: Department, hours: float = 1) -> Appointment:
    return book_appointment(
        patient_id=patient.id,
        department_id=department.id,
        starts_at=NOW + timedelta(hours=hours),
        duration_minutes=20,
        actor=None,
    )


def test_the_alphabet_has_no_look_alikes_and_32_characters():
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("IO01") & set(ALPHABET)
    assert set(ALPHABET) == set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


def test_a_new_reference_is_6_characters_of_the_alphabet():
    drawn = {new_reference() for _ in range(500)}

    assert all(REFERENCE.match(reference) for reference in drawn)
    assert len(drawn) > 490  # random, not a counter or a constant


def test_2000_bookings_get_2000_distinct_unambiguous_references(anytime, patient):
    booked = [book(patient, anytime, hours=1 + index / 3) for index in range(2000)]
    db.session.commit()

    stored = db.session.scalars(select(Appointment.reference)).all()
    assert len(stored) == 2000 and len(set(stored)) == 2000
    assert all(reference and REFERENCE.match(reference) for reference in stored)
    assert {appointment.reference for appointment in booked} == set(stored)


def test_a_clash_with_an_open_booking_is_drawn_again(anytime, patient, monkeypatch):
    first = book(patient, anytime)
    db.session.commit()
    draws = iter([first.reference, first.reference, "ZZZ222"])
    monkeypatch.setattr(references, "new_reference", lambda: next(draws))

    second = book(patient, anytime, hours=3)

    assert second.reference == "ZZZ222"


def test_a_clash_only_the_unique_index_sees_is_retried_in_a_savepoint(
    anytime, patient, monkeypatch
):
    """A concurrent booking drew the same reference after the check: the partial unique index
    refuses it, only the savepoint is undone, and the booking gets another."""
    first = book(patient, anytime)
    db.session.commit()
    draws = iter([first.reference, "ZZZ333"])
    monkeypatch.setattr(references, "new_reference", lambda: next(draws))
    monkeypatch.setattr(references, "reference_taken", lambda reference: False)

    second = book(patient, anytime, hours=3)
    db.session.commit()

    assert second.reference == "ZZZ333"
    assert db.session.get(Appointment, second.id) is not None  # the booking itself stands
    assert first.reference != second.reference


def test_it_gives_up_with_a_conflict_after_a_few_clashes(anytime, patient, monkeypatch):
    first = book(patient, anytime)
    db.session.commit()
    monkeypatch.setattr(references, "new_reference", lambda: first.reference)

    with pytest.raises(Conflict, match="booking reference"):
        book(patient, anytime, hours=3)


def test_the_index_refuses_two_open_bookings_with_one_reference(anytime, patient):
    AppointmentFactory(patient=patient, department=anytime, reference="KKK222")
    db.session.commit()

    with pytest.raises(IntegrityError):
        AppointmentFactory(department=anytime, reference="KKK222")
    db.session.rollback()


def test_a_closed_bookings_reference_may_come_round_again(anytime, patient, monkeypatch):
    first = book(patient, anytime)
    cancel_appointment(first, actor=None, reason="Patient is travelling")
    db.session.commit()
    monkeypatch.setattr(references, "new_reference", lambda: first.reference)

    again = book(patient, anytime, hours=3)

    assert again.reference == first.reference
    assert find_open_by_reference(first.reference) == again


def test_rescheduling_keeps_the_reference(anytime, patient):
    appointment = book(patient, anytime)
    db.session.commit()
    reference = appointment.reference

    reschedule_appointment(appointment, actor=None, starts_at=NOW + timedelta(hours=5))
    db.session.commit()

    assert db.session.get(Appointment, appointment.id).reference == reference


def test_assign_reference_takes_a_generator(anytime, patient):
    appointment = AppointmentFactory(patient=patient, department=anytime)

    assert assign_reference(appointment, lambda: "QQQ777") == "QQQ777"


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("k7p4qx", "K7P4QX"),
        (" K7P-4QX ", "K7P4QX"),
        ("K7P 4QX", "K7P4QX"),
        ("k7p\t4qx", "K7P4QX"),
        ("", ""),
        (None, ""),
    ],
)
def test_what_was_typed_is_upper_cased_without_spaces_or_dashes(typed, read):
    assert normalise(typed) == read


@pytest.mark.parametrize("typed", ["K7P0QX", "K7P1QX", "KOP4QX", "KIP4QX"])
def test_a_look_alike_is_never_mapped_so_it_matches_nothing(anytime, patient, typed):
    AppointmentFactory(
        patient=patient,
        department=anytime,
        reference=typed.replace("0", "Q").replace("1", "Q").replace("O", "Q").replace("I", "Q"),
    )
    db.session.commit()

    assert normalise(typed) == typed  # nothing is silently changed
    assert not is_well_formed(normalise(typed))
    assert find_open_by_reference(typed) is None


def test_only_an_open_booking_is_found_by_its_reference(anytime, patient):
    appointment = book(patient, anytime)
    db.session.commit()

    assert find_open_by_reference(appointment.reference.lower()) == appointment
    cancel_appointment(appointment, actor=None, reason="No longer needed")
    assert find_open_by_reference(appointment.reference) is None
    assert find_open_by_reference("ABC") is None


# ------------------------------------------------------------------ PostgreSQL (migrated schema)


@pytest.mark.postgres
def test_on_postgresql_the_migrated_index_refuses_a_clash_and_the_booking_retries(
    pg_app, monkeypatch
):
    department = DepartmentFactory(opening_hours=None)
    person = PatientFactory()
    db.session.commit()
    first = book(person, department)
    db.session.commit()
    draws = iter([first.reference, "ZZZ444"])
    monkeypatch.setattr(references, "new_reference", lambda: next(draws))
    monkeypatch.setattr(references, "reference_taken", lambda reference: False)

    second = book(person, department, hours=3)
    db.session.commit()

    db.session.expire_all()
    assert [
        a.reference for a in db.session.scalars(select(Appointment).order_by(Appointment.id))
    ] == [
        first.reference,
        "ZZZ444",
    ]
    assert second.status == "booked"

"""A small queue for the audit tests: moves made through the queue's services at set times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask

from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, walk_in
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue import moves
from webapp.queue.models import Ticket

# What must never reach an audit summary: the patient's identity.
PATIENT = {
    "first_name": "Philomena",
    "last_name": "Quackenbush",
    "date_of_birth": date(1961, 7, 23),
    "phone": "+442079460018",
}
PHI = ("Philomena", "Quackenbush", "1961", "07-23", "+442079460018", "2079460018")


@pytest.fixture
def app_config() -> dict[str, Any]:
    # UTC-5 in winter: 03:00 UTC on the 10th is still the 9th in the hospital.
    return {"HOSPITAL_TIMEZONE": "America/New_York"}


@dataclass
class QueueWorld:
    gm: Department
    xr: Department
    room: ServicePoint
    patient: Patient
    receptionist: User
    clinician: User

    def at(self, moment: datetime) -> time_machine.travel:
        return time_machine.travel(moment, tick=False)

    def check_in(self, moment: datetime) -> Ticket:
        with self.at(moment):
            return walk_in(self.gm, self.patient, actor=self.receptionist)

    def call(self, moment: datetime) -> Ticket:
        with self.at(moment):
            ticket = moves.call_next(service_point_id=self.room.id, actor=self.clinician)
            db.session.commit()
        assert ticket is not None
        return ticket

    def move(self, moment: datetime, ticket: Ticket, status: str, reason: str | None) -> Ticket:
        with self.at(moment):
            moved = moves.transition_ticket(
                ticket.id, status=status, actor=self.clinician, reason=reason
            )
            db.session.commit()
        return moved


@pytest.fixture
def queue_world(app: Flask, receptionist: User, clinician: User) -> QueueWorld:
    return make_queue_world(receptionist, clinician)


def make_queue_world(receptionist: User, clinician: User) -> QueueWorld:
    """GM with Room 1, XR, and one patient whose identity must never show in the trail."""
    gm = DepartmentFactory(code="GM", name="General Medicine")
    world = QueueWorld(
        gm=gm,
        xr=DepartmentFactory(code="XR", name="Radiology"),
        room=ServicePointFactory(department=gm, name="Room 1"),
        patient=PatientFactory(**PATIENT),
        receptionist=receptionist,
        clinician=clinician,
    )
    db.session.commit()
    return world

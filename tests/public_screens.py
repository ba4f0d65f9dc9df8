"""Shared by the tests of the public screens (waiting-room display, patient ticket page):
a patient with unmistakable PHI, the check that none of it shows, a department with a room."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.queue import moves as queue
from webapp.queue.models import Ticket

# A patient no one could mistake for anything else on a page.
FIRST, LAST = "Zebulon", "Quartermaine"
BORN = date(1933, 3, 3)
PHONE = "+12015550177"
PHI_PATTERNS = [
    re.compile(FIRST, re.IGNORECASE),
    re.compile(LAST, re.IGNORECASE),
    re.compile(r"1933"),
    re.compile(r"0?3[/.\-]0?3[/.\-](19)?33"),
    re.compile(r"3(rd)?\s+(March|Mar)", re.IGNORECASE),
    re.compile(r"201\D{0,3}555\D{0,3}0177"),
    re.compile(r"555\D{0,3}0177"),
]


def assert_no_phi(text: str) -> None:
    for pattern in PHI_PATTERNS:
        assert not pattern.search(text), f"a public screen shows {pattern.pattern!r}"


@pytest.fixture
def department(app: object) -> Department:
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    return department


@pytest.fixture
def room(department: Department) -> ServicePoint:
    point = ServicePointFactory(department=department, name="Room 1")
    db.session.commit()
    return point


def check_in_patient(
    department: Department, actor: User | None = None, **patient: object
) -> Ticket:
    ticket = queue.check_in(
        actor=actor, patient_id=PatientFactory(**patient).id, department_id=department.id
    )
    db.session.commit()
    return ticket

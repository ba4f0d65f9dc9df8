"""Service-target settings (webapp/departments/targets.py) and how the department service
keeps them: the defaults, partial changes that keep the other priorities, the validation and
the audit.

The tests that touch the database run on in-memory SQLite and on migrated PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import make_app
from tests.factories import DepartmentFactory
from tests.queue.test_targets import BACKENDS, app_on_backend
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.departments.services import create_department, get_department, update_department
from webapp.departments.targets import (
    AT_RISK_SHARE,
    DEFAULT_WAIT_TARGETS,
    MAX_TARGET_MINUTES,
    normalise_wait_targets,
    wait_targets_of,
)
from webapp.domain_errors import ValidationFailed
from webapp.extensions import db
from webapp.live.versions import stamp_for
from webapp.queue.models import PRIORITIES

DEFAULTS = {"emergency": 0, "urgent": 15, "priority": 30, "routine": 60}


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Flask]:
    yield from app_on_backend(request, app_config)


@pytest.fixture
def gm(app: Flask) -> Department:
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    return department


def _reloaded(department: Department) -> Department:
    db.session.expire_all()
    again = db.session.get(Department, department.id)
    assert again is not None
    return again


def _audits(action: str, department: Department) -> list[AuditLog]:
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.action == action, AuditLog.entity_id == department.id)
            .order_by(AuditLog.id)
        )
    )


# ------------------------------------------------------------ the settings themselves


def test_the_defaults_are_those_of_the_domain() -> None:
    assert DEFAULT_WAIT_TARGETS == DEFAULTS
    assert MAX_TARGET_MINUTES == 1440
    assert AT_RISK_SHARE == 0.8


def test_the_defaults_name_every_priority_of_the_queue_most_urgent_first() -> None:
    assert tuple(DEFAULT_WAIT_TARGETS) == PRIORITIES


def test_a_department_without_targets_has_the_defaults() -> None:
    department = Department(code="GM", name="General", wait_targets=None)

    targets = wait_targets_of(department)

    assert targets == DEFAULTS
    targets["routine"] = 5  # a copy: the house defaults are not changed through it
    assert DEFAULT_WAIT_TARGETS["routine"] == 60


def test_a_department_with_some_targets_has_the_defaults_for_the_others() -> None:
    department = Department(code="GM", name="General", wait_targets={"routine": 45})

    assert wait_targets_of(department) == {**DEFAULTS, "routine": 45}


def test_normalising_keeps_only_the_priorities_given() -> None:
    assert normalise_wait_targets({"routine": 45}) == {"routine": 45}
    assert normalise_wait_targets({}) == {}
    assert normalise_wait_targets(DEFAULTS) == DEFAULTS


@pytest.mark.parametrize("minutes", [0, 1, 1439, 1440])
def test_normalising_accepts_whole_minutes_from_0_to_1440(minutes: int) -> None:
    assert normalise_wait_targets({"urgent": minutes}) == {"urgent": minutes}


@pytest.mark.parametrize(
    "minutes",
    [-1, 1441, 2.5, 15.0, "15", True, False, None, [15]],
    ids=["-1", "1441", "2.5", "15.0", "text", "true", "false", "null", "list"],
)
def test_normalising_refuses_anything_but_whole_minutes_in_range(minutes: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_wait_targets({"routine": minutes, "urgent": 10})

    assert refused.value.errors == {
        "wait_targets.routine": "Use a whole number of minutes from 0 to 1440."
    }


def test_normalising_refuses_an_unknown_priority_without_repeating_it() -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_wait_targets({"<script>": 10, "routine": 30})

    assert list(refused.value.errors) == ["wait_targets"]
    assert "<script>" not in refused.value.errors["wait_targets"]
    assert "routine" in refused.value.errors["wait_targets"]


@pytest.mark.parametrize("value", [None, [["routine", 30]], "routine=30", 30])
def test_normalising_wants_a_mapping(value: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_wait_targets(value)

    assert list(refused.value.errors) == ["wait_targets"]


def test_normalising_reports_every_bad_priority_under_the_given_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_wait_targets({"routine": -1, "urgent": 2000, "priority": 20}, field="targets")

    assert set(refused.value.errors) == {"targets.routine", "targets.urgent"}


# ------------------------------------------------------------ creating a department


def test_a_new_department_has_the_default_targets(app: Flask, admin: User) -> None:
    department = create_department(code="XR", name="Radiology", actor=admin)
    db.session.commit()

    assert wait_targets_of(_reloaded(department)) == DEFAULTS


def test_a_new_department_may_set_some_targets(app: Flask, admin: User) -> None:
    department = create_department(
        code="XR", name="Radiology", actor=admin, wait_targets={"routine": 90, "urgent": 0}
    )
    db.session.commit()

    stored = _reloaded(department)
    assert stored.wait_targets == {**DEFAULTS, "routine": 90, "urgent": 0}
    assert wait_targets_of(stored) == {**DEFAULTS, "routine": 90, "urgent": 0}


def test_a_new_department_with_a_bad_target_is_not_made(app: Flask, admin: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create_department(code="x1", name="Radiology", actor=admin, wait_targets={"routine": 1441})

    # Every problem at once: the code's and the target's.
    assert set(refused.value.errors) == {"code", "wait_targets.routine"}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Department)) == 0


# ------------------------------------------------------------ changing a department


def test_changing_one_target_keeps_the_others(gm: Department, admin: User) -> None:
    update_department(gm, actor=admin, wait_targets={"urgent": 20})
    db.session.commit()

    update_department(_reloaded(gm), actor=admin, wait_targets={"routine": 45})
    db.session.commit()

    assert _reloaded(gm).wait_targets == {**DEFAULTS, "urgent": 20, "routine": 45}


@pytest.mark.parametrize("minutes", [0, 1440])
def test_the_limits_are_accepted(gm: Department, admin: User, minutes: int) -> None:
    update_department(gm, actor=admin, wait_targets={"routine": minutes})
    db.session.commit()

    assert wait_targets_of(_reloaded(gm))["routine"] == minutes


def test_a_target_change_is_audited_once_with_before_and_after(gm: Department, admin: User) -> None:
    update_department(gm, actor=admin, wait_targets={"routine": 45, "emergency": 0})
    db.session.commit()

    [entry] = _audits("department.update", gm)
    assert entry.user_id == admin.id
    assert entry.entity_type == "department"
    assert entry.details == {"wait_targets": [DEFAULTS, {**DEFAULTS, "routine": 45}]}
    assert "wait_targets" in entry.summary


def test_the_same_targets_again_change_nothing_and_are_not_audited(
    gm: Department, admin: User
) -> None:
    update_department(gm, actor=admin, wait_targets={"routine": 60, "urgent": 15})
    db.session.commit()

    assert _audits("department.update", gm) == []
    assert _reloaded(gm).wait_targets is None  # still "the defaults"


def test_targets_and_other_settings_change_in_one_audited_step(gm: Department, admin: User) -> None:
    update_department(gm, actor=admin, name="General Medicine East", wait_targets={"urgent": 5})
    db.session.commit()

    [entry] = _audits("department.update", gm)
    assert entry.details is not None
    assert set(entry.details) == {"name", "wait_targets"}
    assert entry.details["wait_targets"][1]["urgent"] == 5


@pytest.mark.parametrize(
    "targets",
    [{"routine": -1}, {"routine": 1441}, {"routine": 2.5}, {"routine": "15"}, {"routine": True}],
    ids=["-1", "1441", "2.5", "text", "true"],
)
def test_a_bad_target_changes_nothing(gm: Department, admin: User, targets: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        update_department(gm, actor=admin, name="Renamed", wait_targets=targets)
    db.session.rollback()

    assert list(refused.value.errors) == ["wait_targets.routine"]
    stored = _reloaded(gm)
    assert stored.wait_targets is None and stored.name == "General Medicine"
    assert _audits("department.update", gm) == []


def test_a_bad_target_is_reported_with_the_other_bad_fields(gm: Department, admin: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        update_department(
            gm,
            actor=admin,
            name=" ",
            opening_hours={"mon": [["17:00", "08:00"]]},
            wait_targets={"urgent": -5, "routine": 30},
        )

    assert set(refused.value.errors) == {"name", "opening_hours.mon", "wait_targets.urgent"}


def test_a_target_change_is_a_new_version_for_the_screens(gm: Department, admin: User) -> None:
    before = str(stamp_for([gm.id]))

    update_department(gm, actor=admin, wait_targets={"routine": 30})
    db.session.commit()

    assert str(stamp_for([gm.id])) != before


@pytest.mark.postgres
def test_two_partial_changes_at_once_keep_both_on_postgresql(
    pg_app: Flask, postgres_url: str
) -> None:
    """Two admins each change one priority at the same moment (two server processes): the
    priority one of them did not send keeps the other's value, as a PATCH promises."""
    department = DepartmentFactory(code="GM", name="General Medicine")
    db.session.commit()
    assert wait_targets_of(department) == DEFAULTS  # this request has read the department

    # Meanwhile another server commits the other admin's change.
    other_server = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    with other_server.app_context():
        update_department(get_department(department.id), actor=None, wait_targets={"urgent": 10})
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    update_department(department, actor=None, wait_targets={"routine": 90})
    db.session.commit()

    assert wait_targets_of(_reloaded(department)) == {**DEFAULTS, "urgent": 10, "routine": 90}

"""The audit trail: record_audit and what each change writes; list_audit over the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests.factories import DepartmentFactory, ServicePointFactory, UserFactory
from webapp.audit.models import AuditLog
from webapp.audit.services import record_audit
from webapp.audit_trail.services import AuditFilters, AuditPage, audit_actions, list_audit
from webapp.auth import services as accounts
from webapp.auth.models import User
from webapp.departments import services as departments
from webapp.extensions import db

SECRET = "a very secret password"


def _entries() -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).order_by(AuditLog.id)))


def _record_at(moment: datetime, action: str, actor: User | None = None, summary: str = "") -> None:
    with time_machine.travel(moment, tick=False):
        record_audit(action, actor, summary=summary or f"{action} at {moment.isoformat()}")
        db.session.flush()


# ---------------------------------------------------------------- record_audit


def test_it_records_the_actor_entity_and_client_address(app: Flask, admin: User) -> None:
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        record_audit(
            "user.update",
            admin,
            entity_type="user",
            entity_id=7,
            summary="Changed",
            details={"a": 1},
        )
    db.session.commit()

    entry = _entries()[0]
    assert entry.user_id == admin.id
    assert (entry.action, entry.entity_type, entry.entity_id) == ("user.update", "user", 7)
    assert entry.summary == "Changed" and entry.details == {"a": 1}
    assert entry.ip_address == "10.1.2.3"
    assert entry.created_at.tzinfo is not None


def test_it_leaves_the_address_and_actor_empty_outside_a_request(app: Flask) -> None:
    record_audit("department.create", None, summary="From the command line")
    db.session.commit()

    entry = _entries()[0]
    assert entry.ip_address is None and entry.user_id is None


def test_it_cuts_a_long_summary_to_400_characters(app: Flask) -> None:
    record_audit("user.update", None, summary="x" * 500)
    db.session.commit()

    assert len(_entries()[0].summary) == 400


# ------------------------------------------------- what each change writes


@pytest.fixture
def world(app: Flask, admin: User) -> dict[str, Any]:
    department = DepartmentFactory(code="GM")
    objects = {
        "admin": admin,
        "user": UserFactory(username="sam", role="receptionist"),
        "department": department,
        "point": ServicePointFactory(department=department, name="Room 1"),
    }
    db.session.commit()
    return objects


CHANGES: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    (
        "user.create",
        lambda w: accounts.create_user(
            username="newbie",
            full_name="New Bie",
            role="clinician",
            password=SECRET,
            actor=w["admin"],
        ),
    ),
    ("user.update", lambda w: accounts.update_user(w["user"], actor=w["admin"], role="clinician")),
    ("user.update", lambda w: accounts.update_user(w["user"], actor=w["admin"], full_name="S S")),
    ("user.deactivate", lambda w: accounts.update_user(w["user"], actor=w["admin"], active=False)),
    (
        "user.password_reset",
        lambda w: accounts.update_user(w["user"], actor=w["admin"], password=SECRET),
    ),
    (
        "department.create",
        lambda w: departments.create_department(code="XR", name="Radiology", actor=w["admin"]),
    ),
    (
        "department.update",
        lambda w: departments.update_department(
            w["department"], actor=w["admin"], opening_hours={"mon": [["08:00", "12:00"]]}
        ),
    ),
    (
        "service_point.create",
        lambda w: departments.add_service_point(w["department"], name="Room 2", actor=w["admin"]),
    ),
    (
        "service_point.update",
        lambda w: departments.update_service_point(w["point"], name="Room 1A", actor=w["admin"]),
    ),
    (
        "service_point.update",
        lambda w: departments.update_service_point(w["point"], active=False, actor=w["admin"]),
    ),
]


@pytest.mark.parametrize(("action", "change"), CHANGES, ids=[a for a, _ in CHANGES])
def test_it_writes_one_audit_row_per_change_with_no_password_in_it(
    app: Flask, world: dict[str, Any], action: str, change: Callable[[dict[str, Any]], object]
) -> None:
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.9"}):
        change(world)
    db.session.commit()

    entries = _entries()
    assert [entry.action for entry in entries] == [action]
    entry = entries[0]
    assert entry.user_id == world["admin"].id
    assert entry.ip_address == "192.0.2.9"
    assert entry.entity_id is not None
    stored = json.dumps(entry.details) + entry.summary
    assert SECRET not in stored
    for user in db.session.scalars(select(User)):
        assert user.password_hash not in stored
    assert "$2b$" not in stored and "hash" not in stored


def test_it_writes_user_activate_when_an_account_is_reactivated(
    app: Flask, world: dict[str, Any]
) -> None:
    world["user"].active = False
    db.session.commit()

    accounts.update_user(world["user"], actor=world["admin"], active=True)
    db.session.commit()

    assert [(e.action, e.details) for e in _entries()] == [
        ("user.activate", {"active": [False, True]})
    ]


def test_it_writes_no_row_for_a_change_that_changes_nothing(
    app: Flask, world: dict[str, Any]
) -> None:
    accounts.update_user(world["user"], actor=world["admin"], role="receptionist")
    departments.update_service_point(world["point"], name="Room 1", actor=world["admin"])
    db.session.commit()

    assert _entries() == []


def test_it_records_before_and_after_values(app: Flask, world: dict[str, Any]) -> None:
    accounts.update_user(world["user"], actor=world["admin"], role="clinician", full_name="Sam S")
    db.session.commit()

    details = _entries()[0].details
    assert details["role"] == ["receptionist", "clinician"]
    assert details["full_name"][1] == "Sam S"


# ----------------------------------------------------- list_audit: the audit log


@pytest.fixture
def history(app: Flask, admin: User, receptionist: User) -> dict[str, User]:
    _record_at(datetime(2025, 1, 8, 15, 0, tzinfo=UTC), "user.create", admin, "jan 8")
    # 03:00 UTC on 10 January is 22:00 on 9 January in New York.
    _record_at(datetime(2025, 1, 10, 3, 0, tzinfo=UTC), "department.create", admin, "jan 9 late")
    _record_at(datetime(2025, 1, 10, 14, 0, tzinfo=UTC), "user.update", receptionist, "jan 10")
    _record_at(datetime(2025, 1, 12, 4, 59, tzinfo=UTC), "user.update", admin, "jan 11 late")
    _record_at(datetime(2025, 1, 12, 5, 0, tzinfo=UTC), "user.create", None, "jan 12 start")
    db.session.commit()
    return {"admin": admin, "receptionist": receptionist}


def _summaries(page: AuditPage) -> list[str]:
    return [entry.summary for entry in page.entries]


def _listed(**filters: Any) -> list[str]:
    return _summaries(list_audit(AuditFilters(**filters)))


def test_it_lists_everything_newest_first(history: dict[str, User]) -> None:
    page = list_audit()

    assert page.total == 5
    assert _summaries(page) == ["jan 12 start", "jan 11 late", "jan 10", "jan 9 late", "jan 8"]


def test_it_gives_each_row_its_user_action_and_address(history: dict[str, User]) -> None:
    entry = list_audit(AuditFilters(user_id=history["receptionist"].id)).entries[0]

    assert (entry.username, entry.action, entry.summary) == ("rita", "user.update", "jan 10")
    assert entry.id.startswith("audit-") and entry.at == datetime(2025, 1, 10, 14, tzinfo=UTC)


def test_it_filters_by_user(history: dict[str, User]) -> None:
    assert _listed(user_id=history["receptionist"].id) == ["jan 10"]
    assert list_audit(AuditFilters(user_id=history["admin"].id)).total == 3


def test_it_filters_by_action(history: dict[str, User]) -> None:
    assert _listed(action="user.update") == ["jan 11 late", "jan 10"]


def test_it_combines_filters(history: dict[str, User]) -> None:
    assert _listed(user_id=history["admin"].id, action="user.update") == ["jan 11 late"]


def test_it_filters_by_entity_type_and_id(app: Flask) -> None:
    record_audit("user.update", None, entity_type="user", entity_id=7, summary="user 7")
    record_audit("user.update", None, entity_type="user", entity_id=8, summary="user 8")
    record_audit("patient.view", None, entity_type="patient", entity_id=7, summary="patient 7")
    db.session.commit()

    assert _listed(entity_type="user") == ["user 8", "user 7"]
    assert _listed(entity_type="user", entity_id=7) == ["user 7"]
    assert _listed(entity_id=7) == ["patient 7", "user 7"]


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        (date(2025, 1, 9), date(2025, 1, 9), ["jan 9 late"]),
        (date(2025, 1, 10), date(2025, 1, 10), ["jan 10"]),
        (date(2025, 1, 11), date(2025, 1, 11), ["jan 11 late"]),
        (date(2025, 1, 12), None, ["jan 12 start"]),
        (None, date(2025, 1, 8), ["jan 8"]),
        (date(2025, 1, 9), date(2025, 1, 11), ["jan 11 late", "jan 10", "jan 9 late"]),
        (date(2025, 2, 1), None, []),
        (date(2025, 1, 11), date(2025, 1, 10), []),
    ],
)
def test_it_filters_by_whole_days_in_the_hospital_time_zone(
    history: dict[str, User], date_from: date | None, date_to: date | None, expected: list[str]
) -> None:
    assert _listed(date_from=date_from, date_to=date_to) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"date_to": date.max}, 5),
        ({"date_from": date.max}, 0),
        ({"date_from": date(9999, 12, 30)}, 0),
        ({"date_from": date.min}, 5),
        ({"date_to": date.min}, 0),
        ({"date_from": date.min, "date_to": date.max}, 5),
        ({"user_id": 2**70}, 0),
        ({"user_id": 0}, 0),
        ({"entity_id": 2**64}, 0),
        ({"entity_id": -1}, 0),
        ({"action": " "}, 0),
        ({"entity_type": "no such thing"}, 0),
    ],
)
def test_it_answers_extreme_filters_without_an_error(
    history: dict[str, User], filters: dict[str, Any], expected: int
) -> None:
    assert list_audit(AuditFilters(**filters)).total == expected


def test_it_pages_the_results(app: Flask) -> None:
    for number in range(7):
        _record_at(datetime(2025, 1, 1, 9, number, tzinfo=UTC), "user.update", None, f"#{number}")
    db.session.commit()

    first = list_audit(per_page=3)
    last = list_audit(page=3, per_page=3)

    assert (first.total, first.pages) == (7, 3)
    assert _summaries(first) == ["#6", "#5", "#4"]
    assert _summaries(last) == ["#0"]
    assert list_audit(page=4, per_page=3).entries == []
    assert list_audit(page=2**70, per_page=3).entries == []  # never reaches SQL's OFFSET


def test_it_counts_one_page_when_there_is_nothing(app: Flask) -> None:
    page = list_audit()

    assert (page.total, page.pages, page.entries) == (0, 1, [])


def test_it_orders_rows_written_at_the_same_moment_by_id(app: Flask) -> None:
    moment = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    for number in range(3):
        _record_at(moment, "user.update", None, f"#{number}")
    db.session.commit()

    assert _summaries(list_audit()) == ["#2", "#1", "#0"]


def test_it_offers_each_logged_action_once_and_every_queue_move(
    history: dict[str, User],
) -> None:
    actions = audit_actions()

    assert actions == sorted(actions)
    assert {"department.create", "user.create", "user.update"} < set(actions)
    assert {"queue.check_in", "queue.call", "queue.no_show", "queue.transfer"} < set(actions)
    assert len(actions) == len(set(actions))

"""Departments and service points: creation, changes, opening hours."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select

from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import flush_or_conflict, get_by_id
from webapp.departments.models import Department, ServicePoint
from webapp.departments.targets import (
    DEFAULT_WAIT_TARGETS,
    normalise_wait_targets,
    wait_targets_of,
)
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.live import versions as live_versions

CODE_PATTERN = re.compile(r"^[A-Z]{1,4}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
MAX_SERVICE_MINUTES = 480

OpeningHours = dict[str, list[list[str]]]


def normalise_opening_hours(value: Any, field: str = "opening_hours") -> OpeningHours | None:
    """Check an opening-hours mapping and return it in canonical form.

    A problem with one weekday is reported under ``"<field>.<day>"`` (``opening_hours.tue``).
    The shape is ``{"mon": [["08:00", "12:00"], ["13:00", "17:00"]], ...}`` with
    24-hour times in HOSPITAL_TIMEZONE. A day that is missing or has an empty
    list is closed. ``None`` means the department is open at all hours.
    Intervals are sorted; overlapping ones or an end not after the start are refused.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationFailed({field: "Give opening hours per weekday, e.g. mon: 08:00–17:00."})
    result: OpeningHours = {}
    errors: dict[str, str] = {}
    for day, intervals in value.items():
        if day not in WEEKDAYS:
            # The unknown key is not repeated back: it is whatever the caller sent.
            errors[field] = "Unknown weekday; use mon, tue, wed, thu, fri, sat or sun."
            continue
        try:
            cleaned = _day_intervals(WEEKDAY_LABELS[day], intervals)
        except ValueError as problem:
            errors[f"{field}.{day}"] = str(problem)
            continue
        if cleaned:
            result[day] = cleaned
    if errors:
        raise ValidationFailed(errors)
    return result


def _day_intervals(label: str, intervals: Any) -> list[list[str]]:
    """One weekday's intervals, checked and sorted; ValueError says what is wrong."""
    if not isinstance(intervals, list):
        raise ValueError(f"{label}: give a list of intervals.")
    cleaned: list[list[str]] = []
    for interval in intervals:
        if (
            not isinstance(interval, list | tuple)
            or len(interval) != 2
            or not all(isinstance(t, str) and _HHMM.match(t) for t in interval)
        ):
            raise ValueError(f"{label}: write times as HH:MM–HH:MM, e.g. 08:00–12:30.")
        start, end = interval
        if end <= start:
            raise ValueError(f"{label}: {start}–{end} must end after it starts.")
        cleaned.append([start, end])
    cleaned.sort()
    for earlier, later in itertools.pairwise(cleaned):
        if later[0] < earlier[1]:
            raise ValueError(
                f"{label}: {earlier[0]}–{earlier[1]} and {later[0]}–{later[1]} overlap."
            )
    return cleaned


def is_open_at(department: Department, moment: datetime, timezone: str) -> bool:
    """Whether ``moment`` falls inside the department's opening hours (always, when none set)."""
    if department.opening_hours is None:
        return True
    local = moment.astimezone(ZoneInfo(timezone))
    hhmm = local.strftime("%H:%M")
    day = WEEKDAYS[local.weekday()]
    return any(start <= hhmm < end for start, end in department.opening_hours.get(day, []))


def fits_opening_hours(
    department: Department, starts_at: datetime, ends_at: datetime, timezone: str
) -> bool:
    """Whether ``starts_at``–``ends_at`` lies within one of the department's opening intervals.

    Always true when the department has no opening hours (open at all hours).
    An interval's end is exclusive for a start and inclusive for an end, so a
    09:40–10:00 visit fits 08:00–10:00.
    """
    if department.opening_hours is None:
        return True
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    if end.date() != start.date() and not (
        end.date() == start.date() + timedelta(days=1) and end.time() == time(0, 0)
    ):
        return False
    start_hhmm = start.strftime("%H:%M")
    end_hhmm = "24:00" if end.date() != start.date() else end.strftime("%H:%M")
    day = WEEKDAYS[start.weekday()]
    return any(
        opens <= start_hhmm and end_hhmm <= closes
        for opens, closes in department.opening_hours.get(day, [])
    )


def opening_hours_text(department: Department, day: date) -> str:
    """How a day's hours read to staff: "08:00–12:00, 13:00–17:00", "closed" or "all hours"."""
    if department.opening_hours is None:
        return "open at all hours"
    intervals = department.opening_hours.get(WEEKDAYS[day.weekday()], [])
    if not intervals:
        return "closed"
    return ", ".join(f"{opens}–{closes}" for opens, closes in intervals)


def get_department(department_id: int) -> Department:
    department = get_by_id(Department, department_id)
    if department is None:
        raise NotFound("No such department.")
    return department


def get_department_by_code(code: str) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code.upper()))
    if department is None:
        raise NotFound("No such department.")
    return department


def departments_query(*, active_only: bool = False) -> Select[tuple[Department]]:
    query = select(Department).order_by(Department.name, Department.id)
    if active_only:
        query = query.where(Department.active.is_(True))
    return query


def list_departments(*, active_only: bool = False) -> list[Department]:
    return list(db.session.scalars(departments_query(active_only=active_only)))


def _validate_department(
    *, code: str | None, name: str | None, default_service_minutes: int | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if code is not None and not CODE_PATTERN.match(code):
        errors["code"] = "Use 1 to 4 capital letters, e.g. GM. It prefixes ticket numbers (GM-014)."
    if name is not None and not name.strip():
        errors["name"] = "Enter the department's name."
    elif name is not None and len(name.strip()) > 120:
        errors["name"] = "Use at most 120 characters."
    if default_service_minutes is not None and not (
        1 <= default_service_minutes <= MAX_SERVICE_MINUTES
    ):
        errors["default_service_minutes"] = f"Use a whole number from 1 to {MAX_SERVICE_MINUTES}."
    return errors


def _code_taken(code: str, exclude_id: int | None = None) -> bool:
    query = select(Department.id).where(Department.code == code)
    if exclude_id is not None:
        query = query.where(Department.id != exclude_id)
    return db.session.scalar(query) is not None


def _collect(errors: dict[str, str], normalise: Callable[[Any], Any], value: Any) -> Any:
    """``normalise(value)``, or None with its field errors added to ``errors``."""
    try:
        return normalise(value)
    except ValidationFailed as failure:
        errors.update(failure.errors)
        return None


def create_department(
    *,
    code: str,
    name: str,
    actor: User | None,
    default_service_minutes: int = 15,
    opening_hours: Any = None,
    accepts_walk_ins: bool = True,
    active: bool = True,
    wait_targets: Mapping[str, Any] | None = None,
) -> Department:
    """A new department; ``wait_targets`` (some or all priorities) overrides the defaults."""
    errors = _validate_department(
        code=code, name=name, default_service_minutes=default_service_minutes
    )
    hours = _collect(errors, normalise_opening_hours, opening_hours)
    targets = None
    if wait_targets is not None:
        targets = {
            **DEFAULT_WAIT_TARGETS,
            **(_collect(errors, normalise_wait_targets, wait_targets) or {}),
        }
    if errors:
        raise ValidationFailed(errors)
    if _code_taken(code):
        raise Conflict(f"The department code {code} is already in use.", field="code")
    department = Department(
        code=code,
        name=name.strip(),
        default_service_minutes=default_service_minutes,
        opening_hours=hours,
        accepts_walk_ins=accepts_walk_ins,
        active=active,
        wait_targets=targets,
    )
    db.session.add(department)
    flush_or_conflict(f"The department code {code} is already in use.", "code")
    live_versions.touch(department.id)
    live_versions.touch_department_list()
    record_audit(
        "department.create",
        actor,
        entity_type="department",
        entity_id=department.id,
        summary=f"Created department {code} {department.name}",
        details={"code": code, "name": department.name},
    )
    return department


_UNSET: Any = object()


def update_department(
    department: Department,
    *,
    actor: User | None,
    code: str | None = None,
    name: str | None = None,
    default_service_minutes: int | None = None,
    opening_hours: Any = _UNSET,
    accepts_walk_ins: bool | None = None,
    active: bool | None = None,
    wait_targets: Mapping[str, Any] | None = None,
) -> Department:
    """Change a department; only the arguments given are changed (``opening_hours=None`` clears).

    ``wait_targets`` may name only some priorities: the others keep their value.
    """
    errors = _validate_department(
        code=code, name=name, default_service_minutes=default_service_minutes
    )
    hours = _UNSET
    if opening_hours is not _UNSET:
        hours = _collect(errors, normalise_opening_hours, opening_hours)
    targets: dict[str, int] | None = None
    if wait_targets is not None:
        # Merge over the stored targets, locked: two admins changing different priorities at
        # once must both keep their change.
        db.session.refresh(department, ["wait_targets"], with_for_update=True)
        cleaned = _collect(errors, normalise_wait_targets, wait_targets)
        targets = {**wait_targets_of(department), **(cleaned or {})}
    if errors:
        raise ValidationFailed(errors)
    if code is not None and code != department.code and _code_taken(code, department.id):
        raise Conflict(f"The department code {code} is already in use.", field="code")

    changes: dict[str, Any] = {}
    new_values = {
        "code": code,
        "name": name.strip() if name is not None else None,
        "default_service_minutes": default_service_minutes,
        "accepts_walk_ins": accepts_walk_ins,
        "active": active,
    }
    for attribute, value in new_values.items():
        if value is not None and getattr(department, attribute) != value:
            changes[attribute] = [getattr(department, attribute), value]
            setattr(department, attribute, value)
    if hours is not _UNSET and hours != department.opening_hours:
        changes["opening_hours"] = [department.opening_hours, hours]
        department.opening_hours = hours
    if targets is not None and targets != wait_targets_of(department):
        changes["wait_targets"] = [wait_targets_of(department), targets]
        department.wait_targets = targets
    if not changes:
        return department
    flush_or_conflict(f"The department code {code} is already in use.", "code")
    # Its screens show its name, estimates and target states; the boards of all departments
    # list it.
    live_versions.touch(department.id)
    live_versions.touch_department_list()
    record_audit(
        "department.update",
        actor,
        entity_type="department",
        entity_id=department.id,
        summary=f"Changed department {department.code}: {', '.join(sorted(changes))}",
        details=changes,
    )
    return department


def get_service_point(service_point_id: int) -> ServicePoint:
    service_point = get_by_id(ServicePoint, service_point_id)
    if service_point is None:
        raise NotFound("No such service point.")
    return service_point


def _validate_service_point_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise ValidationFailed({"name": "Enter the room or counter name, e.g. Room 3."})
    if len(cleaned) > 60:
        raise ValidationFailed({"name": "Use at most 60 characters."})
    return cleaned


def _service_point_name_taken(department: Department, name: str, exclude_id: int | None) -> bool:
    query = select(ServicePoint.id).where(
        ServicePoint.department_id == department.id,
        func.lower(ServicePoint.name) == name.lower(),
    )
    if exclude_id is not None:
        query = query.where(ServicePoint.id != exclude_id)
    return db.session.scalar(query) is not None


def _is_serving(service_point: ServicePoint) -> bool:
    from webapp.queue.models import Ticket

    return (
        db.session.scalar(
            select(Ticket.id).where(
                Ticket.service_point_id == service_point.id,
                Ticket.status.in_(("called", "in_service")),
            )
        )
        is not None
    )


def add_service_point(department: Department, *, name: str, actor: User | None) -> ServicePoint:
    cleaned = _validate_service_point_name(name)
    message = f"{department.name} already has a service point called “{cleaned}”."
    if _service_point_name_taken(department, cleaned, None):
        raise Conflict(message, field="name")
    service_point = ServicePoint(department_id=department.id, name=cleaned, active=True)
    db.session.add(service_point)
    flush_or_conflict(message, "name")
    live_versions.touch(department.id)  # estimates count the rooms
    record_audit(
        "service_point.create",
        actor,
        entity_type="service_point",
        entity_id=service_point.id,
        summary=f"Added {cleaned} to {department.code}",
        details={"department_id": department.id, "name": cleaned},
    )
    return service_point


def update_service_point(
    service_point: ServicePoint,
    *,
    actor: User | None,
    name: str | None = None,
    active: bool | None = None,
) -> ServicePoint:
    department = service_point.department
    if active is False and service_point.active and _is_serving(service_point):
        raise Conflict(
            f"{service_point.name} is serving a patient. Complete, return or transfer that "
            "patient first, then deactivate the room.",
            field="active",
        )
    changes: dict[str, Any] = {}
    if name is not None:
        cleaned = _validate_service_point_name(name)
        if cleaned != service_point.name:
            message = f"{department.name} already has a service point called “{cleaned}”."
            if _service_point_name_taken(department, cleaned, service_point.id):
                raise Conflict(message, field="name")
            changes["name"] = [service_point.name, cleaned]
            service_point.name = cleaned
    if active is not None and active != service_point.active:
        changes["active"] = [service_point.active, active]
        service_point.active = active
        if not active:
            service_point.clinician_id = None
            service_point.signed_in_at = None
    if not changes:
        return service_point
    flush_or_conflict(f"{department.name} already has a service point with that name.", "name")
    live_versions.touch(department.id)  # the screens name the room; estimates count rooms
    record_audit(
        "service_point.update",
        actor,
        entity_type="service_point",
        entity_id=service_point.id,
        summary=f"Changed {service_point.name} in {department.code}: {', '.join(sorted(changes))}",
        details=changes,
    )
    return service_point

"""Read-only figures for the dashboards and the readiness probe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import func, select, text

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.notifications.services import OutboxCounts, counts_today
from webapp.queue.models import Ticket


@dataclass(frozen=True)
class DepartmentToday:
    department: Department
    appointments_booked: int
    appointments_checked_in: int
    waiting: int
    being_served: int


def departments_today() -> list[DepartmentToday]:
    """Per active department: today's appointments and the live queue size."""
    start, end = clock.day_bounds(clock.today())
    departments = list(
        db.session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.name)
        )
    )
    appointment_counts = dict(
        (
            (department_id, status),
            count,
        )
        for department_id, status, count in db.session.execute(
            select(Appointment.department_id, Appointment.status, func.count())
            .where(Appointment.starts_at >= start, Appointment.starts_at < end)
            .group_by(Appointment.department_id, Appointment.status)
        )
    )
    ticket_counts = dict(
        ((department_id, status), count)
        for department_id, status, count in db.session.execute(
            select(Ticket.department_id, Ticket.status, func.count())
            .where(Ticket.status.in_(("waiting", "called", "in_service")))
            .group_by(Ticket.department_id, Ticket.status)
        )
    )
    return [
        DepartmentToday(
            department=department,
            appointments_booked=appointment_counts.get((department.id, "booked"), 0),
            appointments_checked_in=appointment_counts.get((department.id, "checked_in"), 0),
            waiting=ticket_counts.get((department.id, "waiting"), 0),
            being_served=ticket_counts.get((department.id, "called"), 0)
            + ticket_counts.get((department.id, "in_service"), 0),
        )
        for department in departments
    ]


@dataclass(frozen=True)
class MessagesToday:
    """Messages to patients written today (hospital time), by status."""

    day: date
    counts: OutboxCounts


@dataclass(frozen=True)
class AdminSummary:
    active_staff: dict[str, int]
    inactive_staff: int
    departments: int
    service_points: int
    audit_entries_today: int
    messages_today: MessagesToday


def admin_summary() -> AdminSummary:
    active_staff = dict(
        (role, count)
        for role, count in db.session.execute(
            select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)
        )
    )
    inactive = db.session.scalar(select(func.count()).where(User.active.is_(False))) or 0
    start, end = clock.day_bounds(clock.today())
    return AdminSummary(
        active_staff=active_staff,
        inactive_staff=inactive,
        departments=db.session.scalar(
            select(func.count()).select_from(Department).where(Department.active.is_(True))
        )
        or 0,
        service_points=db.session.scalar(
            select(func.count()).select_from(ServicePoint).where(ServicePoint.active.is_(True))
        )
        or 0,
        audit_entries_today=db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.created_at >= start, AuditLog.created_at < end)
        )
        or 0,
        messages_today=MessagesToday(day=clock.today(), counts=counts_today()),
    )


def clinician_service_point(user: User) -> ServicePoint | None:
    return db.session.scalar(select(ServicePoint).where(ServicePoint.clinician_id == user.id))


def check_readiness() -> dict[str, str]:
    """Each dependency with "ok" or what went wrong."""
    results: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        results["database"] = "ok"
    except Exception as error:  # the probe reports any failure, it must not raise
        db.session.rollback()
        results["database"] = f"unavailable: {type(error).__name__}"
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        import redis

        try:
            # Short timeouts (REDIS_CLIENT_OPTIONS): a hung Redis is reported down at once.
            client = redis.Redis.from_url(redis_url, **current_app.config["REDIS_CLIENT_OPTIONS"])
            try:
                client.ping()
            finally:
                client.close()
            results["redis"] = "ok"
        except Exception as error:
            results["redis"] = f"unavailable: {type(error).__name__}"
    return results

"""Queue tickets, their append-only event log, and per-day ticket number counters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.appointments.models import Appointment
from webapp.auth.models import User
from webapp.database import UTCDateTime, utcnow
from webapp.departments.models import Department, ServicePoint
from webapp.extensions import db
from webapp.patients.models import Patient

PRIORITIES = ("emergency", "urgent", "priority", "routine")  # most urgent first
TICKET_STATUSES = (
    "waiting",
    "called",
    "in_service",
    "completed",
    "cancelled",
    "no_show",
    "transferred",
)
ACTIVE_STATUSES = ("waiting", "called", "in_service")
FINAL_STATUSES = ("completed", "cancelled", "no_show", "transferred")
QUEUE_ACTIONS = (
    "check_in",
    "call",
    "recall",
    "start",
    "complete",
    "no_show",
    "cancel",
    "skip",
    "assign",
    "move_to_front",
    "set_priority",
    "transfer",
    "return_to_queue",
)


def _in_list(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


_ACTIVE = _in_list("status", ACTIVE_STATUSES)
_SERVING = _in_list("status", ("called", "in_service"))


class Ticket(db.Model):  # type: ignore[name-defined]
    __tablename__ = "tickets"
    __table_args__ = (
        # Ticket numbers are unique per department and service day, never reused.
        UniqueConstraint(
            "department_id", "service_day", "sequence", name="uq_tickets_department_day_sequence"
        ),
        UniqueConstraint(
            "department_id", "service_day", "number", name="uq_tickets_department_day_number"
        ),
        CheckConstraint(_in_list("status", TICKET_STATUSES), name="status"),
        CheckConstraint(_in_list("priority", PRIORITIES), name="priority"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        # One active ticket per patient and department.
        Index(
            "uq_tickets_one_active_per_patient_department",
            "patient_id",
            "department_id",
            unique=True,
            postgresql_where=text(_ACTIVE),
            sqlite_where=text(_ACTIVE),
        ),
        # A service point serves one patient at a time: at most one called or in-service ticket.
        Index(
            "uq_tickets_one_serving_per_service_point",
            "service_point_id",
            unique=True,
            postgresql_where=text(_SERVING),
            sqlite_where=text(_SERVING),
        ),
        # The boards, the display and call-next read active tickets by department and status.
        Index("ix_tickets_department_status", "department_id", "status"),
        Index("ix_tickets_department_queue", "department_id", "status", "priority", "queue_key"),
        Index("ix_tickets_status_token", "status_token"),
        Index("ix_tickets_patient", "patient_id"),
        Index("ix_tickets_department_day", "department_id", "service_day"),
        # The foreign keys' other ends: deleting an appointment or a ticket checks them, and
        # without these PostgreSQL scans every ticket to do it (found by make bench).
        Index("ix_tickets_appointment", "appointment_id"),
        Index("ix_tickets_transferred_from", "transferred_from_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    service_day: Mapped[date] = mapped_column(Date)  # in HOSPITAL_TIMEZONE
    sequence: Mapped[int]
    number: Mapped[str] = mapped_column(String(16))  # "GM-007"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="RESTRICT")
    )
    priority: Mapped[str] = mapped_column(String(12), default="routine")
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    # While waiting: the service point the ticket is assigned to (if any);
    # once called: the service point serving it.
    service_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_points.id", ondelete="RESTRICT")
    )
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # Serving order within a priority group, lowest first: the effective time in
    # seconds since the epoch at check-in, moved by "move to front" and "skip".
    queue_key: Mapped[float] = mapped_column(Float)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recall_count: Mapped[int] = mapped_column(default=0)
    skip_count: Mapped[int] = mapped_column(default=0)
    # Secret for the patient's ticket page; shared along a transfer chain so the
    # patient keeps one address that always shows the latest ticket.
    status_token: Mapped[str] = mapped_column(String(64))
    transferred_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="RESTRICT")
    )
    # The estimate given at check-in, kept to report the estimate's error later.
    estimated_wait_at_check_in: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()
    patient: Mapped[Patient] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()
    clinician: Mapped[User | None] = relationship()
    transferred_from: Mapped[Ticket | None] = relationship(remote_side=[id])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def __repr__(self) -> str:
        return f"<Ticket {self.number} {self.status}>"


class QueueEvent(db.Model):  # type: ignore[name-defined]
    """One change to a ticket. Rows are only ever inserted."""

    __tablename__ = "queue_events"
    __table_args__ = (
        CheckConstraint(_in_list("action", QUEUE_ACTIONS), name="action"),
        Index("ix_queue_events_ticket_created", "ticket_id", "created_at"),
        Index("ix_queue_events_department_created", "department_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    service_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_points.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    user: Mapped[User | None] = relationship()


class TicketSequence(db.Model):  # type: ignore[name-defined]
    """The last ticket number issued per department and service day.

    Incremented under a row lock, so concurrent check-ins get consecutive,
    distinct numbers and a number is never reused within the day.
    """

    __tablename__ = "ticket_sequences"

    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True
    )
    service_day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)

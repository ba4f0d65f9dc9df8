"""Booked appointments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.database import UTCDateTime, utcnow
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.patients.models import Patient

APPOINTMENT_STATUSES = ("booked", "checked_in", "cancelled", "no_show", "completed")


class Appointment(db.Model):  # type: ignore[name-defined]
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('booked', 'checked_in', 'cancelled', 'no_show', 'completed')",
            name="status",
        ),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # Overlap checks and day views read by clinician, patient and department over time.
        Index("ix_appointments_clinician_starts", "clinician_id", "starts_at"),
        Index("ix_appointments_patient_starts", "patient_id", "starts_at"),
        Index("ix_appointments_department_starts", "department_id", "starts_at"),
        # The kiosk booking reference is unique among open (booked) appointments; a closed
        # one's reference may come round again.
        Index(
            "uq_appointments_open_reference",
            "reference",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int]
    # Stored alongside starts_at so overlap checks are a plain indexed range query.
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="booked")
    # 6 characters without I, O, 0 or 1 (webapp.appointments.references): on the booking SMS
    # and slip, typed or scanned at the kiosk.
    reference: Mapped[str | None] = mapped_column(String(6))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship()
    department: Mapped[Department] = relationship()
    clinician: Mapped[User | None] = relationship(foreign_keys=[clinician_id])

    def __repr__(self) -> str:
        return f"<Appointment {self.id} {self.status}>"

"""Patients. Names, date of birth, phone and email are protected health information."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import UTCDateTime, utcnow
from webapp.extensions import db

SEXES = ("female", "male", "other", "unknown")


class Patient(db.Model):  # type: ignore[name-defined]
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("mrn", name="uq_patients_mrn"),
        CheckConstraint("sex IS NULL OR sex IN ('female', 'male', 'other', 'unknown')", name="sex"),
        Index("ix_patients_phone", "phone"),
        Index("ix_patients_date_of_birth", "date_of_birth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(32))
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164, e.g. +14155550123
    email: Mapped[str | None] = mapped_column(String(254))
    sms_opt_in: Mapped[bool] = mapped_column(default=False)  # consent is explicit
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __repr__(self) -> str:  # no PHI in logs
        return f"<Patient {self.id} {self.mrn}>"


# Duplicate detection and search look patients up by name regardless of case.
Index(
    "ix_patients_name_lower",
    func.lower(Patient.last_name),
    func.lower(Patient.first_name),
)

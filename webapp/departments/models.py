"""Departments (each with its own queue) and their service points (rooms, counters)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.database import UTCDateTime, utcnow
from webapp.extensions import db


class Department(db.Model):  # type: ignore[name-defined]
    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("code", name="uq_departments_code"),
        CheckConstraint("default_service_minutes > 0", name="default_service_minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(120))
    default_service_minutes: Mapped[int] = mapped_column(default=15)
    # {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], ...} in HOSPITAL_TIMEZONE;
    # None means open at all hours. Opening hours restrict booking, never check-in.
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    accepts_walk_ins: Mapped[bool] = mapped_column(default=True)
    # {"emergency": 0, "urgent": 15, "priority": 30, "routine": 60}: minutes a patient of each
    # priority may wait before being called (webapp.departments.targets). None: the defaults.
    wait_targets: Mapped[dict[str, int] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    service_points: Mapped[list[ServicePoint]] = relationship(
        back_populates="department", order_by="ServicePoint.name"
    )

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class ServicePoint(db.Model):  # type: ignore[name-defined]
    __tablename__ = "service_points"
    __table_args__ = (
        UniqueConstraint("department_id", "name", name="uq_service_points_department_name"),
        # One clinician at one service point at a time, even when two rooms sign them in at once.
        Index(
            "uq_service_points_one_per_clinician",
            "clinician_id",
            unique=True,
            postgresql_where=text("clinician_id IS NOT NULL"),
            sqlite_where=text("clinician_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(60))
    active: Mapped[bool] = mapped_column(default=True)
    # The clinician signed in at this room's workstation, if any, and when they
    # last showed activity: the wait estimate counts these as serving.
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department] = relationship(back_populates="service_points")
    clinician: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ServicePoint {self.name}>"

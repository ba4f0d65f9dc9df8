"""Per-department daily aggregates that the reports read for past days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import UTCDateTime, utcnow
from webapp.extensions import db


class DailyMetric(db.Model):  # type: ignore[name-defined]
    __tablename__ = "daily_metrics"
    __table_args__ = (
        UniqueConstraint("department_id", "service_day", name="uq_daily_metrics_department_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    service_day: Mapped[date] = mapped_column(Date)
    tickets_issued: Mapped[int] = mapped_column(default=0)
    walk_ins: Mapped[int] = mapped_column(default=0)
    appointments: Mapped[int] = mapped_column(default=0)
    served: Mapped[int] = mapped_column(default=0)
    no_shows: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    transferred: Mapped[int] = mapped_column(default=0)
    mean_wait_minutes: Mapped[float | None] = mapped_column(Float)
    median_wait_minutes: Mapped[float | None] = mapped_column(Float)
    p90_wait_minutes: Mapped[float | None] = mapped_column(Float)
    mean_service_minutes: Mapped[float | None] = mapped_column(Float)
    mean_estimate_error_minutes: Mapped[float | None] = mapped_column(Float)
    # {"08": 4, "09": 11, ...} and {"<clinician id>": served}
    arrivals_by_hour: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    served_by_clinician: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The day's additive raw material (reports.aggregates.DayAggregate as a dict): weeks and
    # all-department totals merge these, since medians and percentiles cannot be added.
    aggregate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

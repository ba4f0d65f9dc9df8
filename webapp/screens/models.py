"""Waiting-room screens as the server last saw them (webapp.screens.services keeps them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.database import UTCDateTime, utcnow
from webapp.departments.models import Department
from webapp.extensions import db


class Screen(db.Model):  # type: ignore[name-defined]
    __tablename__ = "screens"
    __table_args__ = (
        UniqueConstraint("key", name="uq_screens_key"),
        Index("ix_screens_department", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The random id the display's browser made on first set-up and sends with every poll.
    key: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # Written at most once a minute per screen; the live value between writes is in Redis
    # (or the process) — webapp.screens.services reads both.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[str | None] = mapped_column(String(64))  # the queue stamp it shows
    sound_started: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department] = relationship()

    def __repr__(self) -> str:
        return f"<Screen {self.name}>"

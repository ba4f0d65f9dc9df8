"""The queue version of each department: a counter every change to what its screens show bumps,
in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import UTCDateTime, utcnow
from webapp.extensions import db

# The row that counts changes to the list of departments itself (one added, renamed, closed):
# not a department id, so no foreign key (ids start at 1).
DEPARTMENT_LIST = 0


class QueueVersion(db.Model):  # type: ignore[name-defined]
    __tablename__ = "queue_versions"

    # A department's id, or DEPARTMENT_LIST.
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

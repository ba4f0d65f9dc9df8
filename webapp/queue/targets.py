"""Where a waiting ticket stands against its department's service target.

A waiting ticket is ``ok``, ``at_risk`` once it has waited AT_RISK_SHARE of its priority's
target, and ``breached`` once it has waited longer than the target. The state is read from
the clock every time (nothing is stored), so the same ticket turns amber and red by itself;
screens get the two moments (``at_risk_at``, ``breached_at``) to turn rows on time in the
browser between polls that answer "nothing changed".

The wait is counted from the ticket's check-in. A ticket returned to the queue after a call
keeps its check-in time: the patient is still waiting, and it is safer to flag them than to
start their clock again (docs/service-targets.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.database import utcnow
from webapp.departments.models import Department
from webapp.departments.targets import AT_RISK_SHARE, wait_targets_of
from webapp.extensions import db
from webapp.queue.models import Ticket
from webapp.queue.rules import PRIORITY_LABELS

TARGET_STATES = ("ok", "at_risk", "breached")
TARGET_STATE_LABELS = {"ok": "On time", "at_risk": "At risk", "breached": "Breached"}


@dataclass(frozen=True)
class TargetStatus:
    minutes: int
    state: str  # one of TARGET_STATES
    at_risk_at: datetime
    breached_at: datetime

    @property
    def label(self) -> str:
        return TARGET_STATE_LABELS[self.state]


def target_status(
    ticket: Ticket, department: Department, now: datetime | None = None
) -> TargetStatus | None:
    """The ticket's target and where it stands now; None unless it is waiting."""
    if ticket.status != "waiting":
        return None
    minutes = wait_targets_of(department)[ticket.priority]
    start = ticket.checked_in_at
    at_risk_at = start + timedelta(minutes=minutes * AT_RISK_SHARE)
    breached_at = start + timedelta(minutes=minutes)
    moment = now or utcnow()
    if moment > breached_at:
        state = "breached"
    elif moment >= at_risk_at:
        state = "at_risk"
    else:
        state = "ok"
    return TargetStatus(minutes, state, at_risk_at, breached_at)


@dataclass(frozen=True)
class Breach:
    ticket: Ticket
    department: Department
    status: TargetStatus

    now: datetime

    @property
    def minutes_over(self) -> int:
        return max(0, int((self.now - self.status.breached_at).total_seconds() // 60))

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS[self.ticket.priority]


def current_breaches(
    departments: Iterable[Department], now: datetime | None = None
) -> list[Breach]:
    """Every waiting ticket past its target in these departments, longest over first."""
    by_id = {department.id: department for department in departments}
    if not by_id:
        return []
    moment = now or utcnow()
    waiting = db.session.scalars(
        select(Ticket).where(Ticket.department_id.in_(by_id), Ticket.status == "waiting")
    )
    breaches = []
    for ticket in waiting:
        department = by_id[ticket.department_id]
        status = target_status(ticket, department, moment)
        if status is not None and status.state == "breached":
            breaches.append(Breach(ticket, department, status, moment))
    return sorted(breaches, key=lambda breach: breach.status.breached_at)

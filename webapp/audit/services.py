"""Writing and reading the audit trail.

Services call :func:`record_audit` for every view or change of PHI and every
settings change. The client address is taken from the request when there is
one; the CLI and background tasks leave it empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import has_request_context, request
from sqlalchemy import func, select

from webapp import clock
from webapp.audit.models import AuditLog
from webapp.auth.models import User
from webapp.extensions import db


def record_audit(
    action: str,
    actor: User | None,
    *,
    entity_type: str | None = None,
    entity_id: int | None = None,
    summary: str = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to the current transaction (it commits with the change it describes)."""
    entry = AuditLog(
        action=action,
        user_id=actor.id if actor is not None else None,
        entity_type=entity_type,
        entity_id=entity_id,
        summary=summary[:400],
        details=details,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditLog]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_audit(
    *,
    user_id: int | None = None,
    action: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Audit rows, newest first. Dates are whole days in HOSPITAL_TIMEZONE, both inclusive."""
    query = select(AuditLog)
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    if action:
        query = query.where(AuditLog.action == action)
    if date_from is not None:
        query = query.where(AuditLog.created_at >= clock.day_bounds(date_from)[0])
    if date_to is not None:
        query = query.where(AuditLog.created_at < clock.day_bounds(date_to)[1])
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = db.session.scalars(
        query.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return AuditPage(entries=list(entries), total=total, page=page, per_page=per_page)


def audit_actions() -> list[str]:
    """Every action name present in the log, for the filter drop-down."""
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))

"""Writing the audit log: one row per view or change of PHI or settings.

Services call :func:`record_audit` in the same transaction as the change it
describes. The client address is taken from the request when there is one; the
CLI and background tasks leave it empty. Queue moves are not written here: each
one writes a QueueEvent, and that row is its record. Reading the two together is
``webapp.audit_trail`` (a layer above every domain, so this one stays below them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import has_request_context, request

from webapp.audit.models import AuditLog
from webapp.extensions import db

if TYPE_CHECKING:
    from webapp.auth.models import User

SUMMARY_LENGTH = 400


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
        summary=summary[:SUMMARY_LENGTH],
        details=details,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry

"""The audit trail: GET /audit (admins) and GET /queue/{id}/history (staff).

Both read services only: :func:`webapp.audit_trail.services.list_audit` merges the
audit log with the queue's events (newest first), and
:func:`webapp.queue.history.ticket_history` gives one ticket's events (oldest
first). Neither ever returns a patient's name, birth date or phone.
"""

from __future__ import annotations

from flask import Response, jsonify

from webapp.api.blueprint import NOT_FOUND, allow, api_blueprint
from webapp.api.schemas.audit import (
    AuditEntryOut,
    AuditList,
    AuditQuery,
    HistoryEntryOut,
    TicketHistoryList,
)
from webapp.api.schemas.common import PageQuery
from webapp.api.schemas.queue import TicketPath
from webapp.audit_trail.services import AuditFilters, list_audit
from webapp.auth.models import ROLES
from webapp.queue.history import ticket_history

bp = api_blueprint(
    "audit", "", "The audit trail (admins) and each ticket's own history of queue moves (staff)"
)


@bp.get(
    "/audit",
    summary="The audit trail, newest first: sign-ins, record views and changes, queue moves",
    description="Admins only (403 for other roles); 422 for a malformed filter. "
    "Filters combine; dates are whole days in HOSPITAL_TIMEZONE, both inclusive "
    "(`from` after `to` matches nothing). An unknown user or entity id simply matches nothing. "
    "Queue moves are listed as `queue.<action>` about entity `ticket`.",
    responses={200: AuditList},
)
@allow(bp, "admin")
def list_audit_log(query: AuditQuery) -> Response:
    page = list_audit(
        AuditFilters(
            action=query.action,
            user_id=query.user_id,
            entity_type=query.entity_type,
            entity_id=query.entity_id,
            date_from=query.date_from,
            date_to=query.date_to,
        ),
        page=query.page,
        per_page=query.per_page,
    )
    items = [AuditEntryOut.model_validate(entry, from_attributes=True) for entry in page.entries]
    return jsonify(
        items=[item.model_dump(mode="json") for item in items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    )


@bp.get(
    "/queue/<int:id>/history",
    summary="A ticket's own history: every queue move made on it, oldest first",
    description="Any role; 404 for no such ticket. "
    "A transferred ticket's history ends with `transfer`; the follow-up ticket "
    "(whose `transferred_from` names this one) has its own history, starting with `check_in`.",
    responses={200: TicketHistoryList, **NOT_FOUND},
)
@allow(bp, *ROLES)
def get_ticket_history(path: TicketPath, query: PageQuery) -> Response:
    history = ticket_history(path.id, page=query.page, per_page=query.per_page)
    items = [
        HistoryEntryOut.model_validate(entry, from_attributes=True) for entry in history.entries
    ]
    return jsonify(
        items=[item.model_dump(mode="json") for item in items],
        total=history.total,
        page=query.page,
        per_page=query.per_page,
    )

"""The outbox: GET /notifications (the log) and POST /notifications/resend (admins only).

Both are the admin page's doors onto the same services
(:mod:`webapp.notifications.services`). The list carries no message text and
nothing about the patient but ids: the log is for seeing what failed and why.
"""

from __future__ import annotations

from flask import Response, jsonify

from webapp.api.blueprint import allow, api_blueprint, api_user
from webapp.api.paging import paginate
from webapp.api.schemas.notifications import (
    NotificationList,
    NotificationOut,
    NotificationQuery,
    ResendBody,
    ResendOut,
)
from webapp.notifications.services import notifications_query, resend_notifications

bp = api_blueprint(
    "notifications", "/notifications", "Messages to patients (SMS, Web Push): the log and resending"
)


@bp.get(
    "",
    summary="The messages written to patients, newest first",
    description="Admins only (403 for other roles). "
    "Filters combine. `date` is a whole day in HOSPITAL_TIMEZONE; an unknown "
    "`status`, `channel` or `kind` is 422 naming the allowed values. The message text is not "
    "listed.",
    responses={200: NotificationList},
)
@allow(bp, "admin")
def list_notifications(query: NotificationQuery) -> Response:
    rows, counters = paginate(
        notifications_query(
            status=query.status, channel=query.channel, kind=query.kind, day=query.day
        ),
        query,
    )
    items = [NotificationOut.model_validate(row, from_attributes=True) for row in rows]
    return jsonify(items=[item.model_dump(mode="json") for item in items], **counters)


@bp.post(
    "/resend",
    summary="Send failed messages again",
    description="Admins only (403 for other roles). "
    'Send `{"ids": [...]}` (at most 500) or `{"status": "failed"}` for every failed '
    "message; 422 for both or neither. Only failed messages are queued (a sent message is "
    "never sent twice, a pending one is already on its way); each starts a fresh round of "
    "attempts. The answer says how many were queued.",
    responses={202: ResendOut},
)
@allow(bp, "admin")
def resend(body: ResendBody) -> tuple[Response, int]:
    queued = resend_notifications(actor=api_user(), ids=body.ids, status=body.status)
    return jsonify(ResendOut(queued=queued).model_dump(mode="json")), 202

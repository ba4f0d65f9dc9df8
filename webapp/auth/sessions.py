"""Server-side staff sessions: one revocable row per sign-in, found by the hash of the cookie's id.

Flask-free on purpose: the session guard (webapp/session_guard.py) reads the
cookie and the request, these functions only see plain values.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import joinedload

from webapp.auth.models import StaffSession, User
from webapp.database import utcnow
from webapp.extensions import db

# The last activity is written at most this often, so a busy page costs one write a minute,
# not one per request. The idle timeout can therefore fire up to this much early.
ACTIVITY_WRITE_INTERVAL = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    user: User, *, ip_address: str | None, now: datetime | None = None
) -> tuple[StaffSession, str]:
    """Record a new sign-in of ``user``: the session and the random id its cookie must carry.

    The user's ended sessions (signed out, or idle for a day) are removed on the
    way: the audit log keeps the history, this table only what can still be used.
    """
    now = now or utcnow()
    db.session.execute(
        delete(StaffSession).where(
            StaffSession.user_id == user.id,
            or_(
                StaffSession.revoked_at.is_not(None),
                StaffSession.last_activity_at < now - timedelta(days=1),
            ),
        )
    )
    token = secrets.token_urlsafe(32)
    staff_session = StaffSession(
        token_hash=_hash(token),
        user_id=user.id,
        created_at=now,
        last_activity_at=now,
        ip_address=(ip_address or None) and ip_address[:64],
    )
    db.session.add(staff_session)
    db.session.flush()
    return staff_session, token


def find_live_session(token: str) -> StaffSession | None:
    """The session (with its user) whose cookie carries ``token``, unless it was ended.

    One read of the unique ``token_hash`` index, the user joined in.
    """
    return db.session.scalar(
        select(StaffSession)
        .options(joinedload(StaffSession.user))
        .where(StaffSession.token_hash == _hash(token), StaffSession.revoked_at.is_(None))
    )


def session_is_idle(staff_session: StaffSession, *, idle_limit: timedelta, now: datetime) -> bool:
    return now - staff_session.last_activity_at > idle_limit


def record_activity(staff_session: StaffSession, *, now: datetime | None = None) -> None:
    """Note that the person did something, writing the row at most once a minute."""
    now = now or utcnow()
    if now - staff_session.last_activity_at >= ACTIVITY_WRITE_INTERVAL:
        staff_session.last_activity_at = now


def end_session(staff_session: StaffSession, *, now: datetime | None = None) -> None:
    """Revoke a session: every copy of its cookie is anonymous from now on."""
    if staff_session.revoked_at is None:
        staff_session.revoked_at = now or utcnow()
        db.session.flush()

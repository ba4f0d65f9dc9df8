"""Column types and transaction helpers shared by every model and service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.types import TypeDecorator

from webapp.domain_errors import Conflict
from webapp.extensions import db


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps the offset (``timestamptz``); SQLite has no time zones, so
    values are normalised to naive UTC on the way in and re-tagged on the way
    out. Naive datetimes are refused: they are almost always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the current transaction commits; drop it on rollback.

    Services use this for work that must only happen when their changes are
    durable, such as enqueueing a notification task. A callback registered
    inside a SAVEPOINT is dropped if that savepoint rolls back; releasing a
    savepoint runs nothing, only the outermost commit does.
    """
    session = db.session()
    owner = session.get_nested_transaction()  # the innermost SAVEPOINT, or None
    session.info.setdefault("after_commit", []).append((owner, callback))


def before_commit(key: str, callback: Callable[[], Any]) -> None:
    """Run ``callback`` once, just before the current transaction commits; drop it on rollback.

    For work that must see the transaction's final state and still be part of it,
    such as writing the notifications a set of queue moves causes. Registering the
    same ``key`` again in one transaction keeps the first callback, so a request that
    makes ten moves in one department runs the department's check once.
    """
    session = db.session()
    pending = session.info.setdefault("before_commit", {})
    if key not in pending:
        pending[key] = (session.get_nested_transaction(), callback)


@event.listens_for(Session, "before_commit")
def _run_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT is being released: the transaction goes on
    # A callback may register others (and flush); run until none is left.
    while session.info.get("before_commit"):
        pending = session.info.pop("before_commit")
        for _owner, callback in pending.values():
            callback()


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: nothing is durable yet
    for _owner, callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_commit_callbacks(session: Session, previous_transaction: SessionTransaction) -> None:
    # A failed flush rolls back through an inner subtransaction: find the
    # savepoint (or the root transaction) that actually ended.
    boundary = previous_transaction
    while not boundary.nested and boundary.parent is not None:
        boundary = boundary.parent
    if not boundary.nested:
        session.info.pop("after_commit", None)
        session.info.pop("before_commit", None)
        return

    def registered_inside(owner: SessionTransaction | None) -> bool:
        while owner is not None:
            if owner is boundary:
                return True
            owner = owner.parent
        return False

    session.info["after_commit"] = [
        (owner, callback)
        for owner, callback in session.info.get("after_commit", [])
        if not registered_inside(owner)
    ]
    session.info["before_commit"] = {
        key: (owner, callback)
        for key, (owner, callback) in session.info.get("before_commit", {}).items()
        if not registered_inside(owner)
    }


# Primary keys are 32-bit integers on PostgreSQL; a larger number can name no row.
MAX_ID = 2**31 - 1
Row = TypeVar("Row")


def get_by_id(model: type[Row], row_id: int | None) -> Row | None:
    """``db.session.get`` for ids that come from outside: out-of-range ids find nothing.

    Without the bound, an id such as 2**63 makes the driver raise (a 500)
    instead of answering "not found".
    """
    if row_id is None or not 1 <= row_id <= MAX_ID:
        return None
    return db.session.get(model, row_id)


def flush_or_conflict(message: str, field: str | None = None) -> None:
    """Flush in a savepoint, turning a unique index's refusal into a clear :class:`Conflict`.

    Services check first to give a friendly message; this catches the request that
    lost a race between that check and the insert, and keeps the rest of the
    transaction usable.
    """
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(message, field=field) from None

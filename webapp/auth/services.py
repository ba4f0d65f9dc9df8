"""Staff accounts: sign-in, creation and changes. Used by the admin pages, the CLI and the API."""

from __future__ import annotations

import functools
import re
from typing import Any

import bcrypt
from flask import current_app
from sqlalchemy import Select, func, select

from webapp.audit.services import record_audit
from webapp.auth.models import ROLES, User
from webapp.database import flush_or_conflict, get_by_id, utcnow
from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.extensions import db

MIN_PASSWORD_LENGTH = 10
# bcrypt only reads the first 72 bytes; refuse longer passwords rather than silently truncate.
MAX_PASSWORD_BYTES = 72
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


@functools.lru_cache(maxsize=4)
def _stand_in_hash(rounds: int) -> bytes:
    """A hash at the configured cost, checked when there is no real one to check.

    Every failed sign-in then costs one bcrypt check at the real cost, so the
    response time does not reveal whether a username exists.
    """
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds=rounds))


def _spend_one_check() -> None:
    bcrypt.checkpw(b"timing-equaliser", _stand_in_hash(current_app.config.get("BCRYPT_ROUNDS", 12)))


def hash_password(password: str) -> str:
    rounds = current_app.config.get("BCRYPT_ROUNDS", 12)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def password_matches(password: str, password_hash: str) -> bool:
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        _spend_one_check()
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return f"Use at most {MAX_PASSWORD_BYTES} bytes (about {MAX_PASSWORD_BYTES} letters)."
    return None


def find_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def get_user(user_id: int) -> User:
    user = get_by_id(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def users_query() -> Select[tuple[User]]:
    """Every staff account, by username."""
    return select(User).order_by(func.lower(User.username), User.id)


def list_users() -> list[User]:
    return list(db.session.scalars(users_query()))


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Records the sign-in time."""
    user = find_user_by_username(username.strip())
    if user is None:
        _spend_one_check()
        return None
    if not password_matches(password, user.password_hash) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def _validate_account_fields(
    *, username: str | None, full_name: str | None, role: str | None, password: str | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if username is not None and not USERNAME_PATTERN.match(username):
        errors["username"] = (
            "Use 2–64 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit."
        )
    if full_name is not None and not full_name.strip():
        errors["full_name"] = "Enter the person's full name."
    elif full_name is not None and len(full_name.strip()) > 120:
        errors["full_name"] = "Use at most 120 characters."
    if role is not None and role not in ROLES:
        errors["role"] = "Choose receptionist, clinician or admin."
    if password is not None:
        problem = password_problem(password)
        if problem:
            errors["password"] = problem
    return errors


def create_user(
    *, username: str, full_name: str, role: str, password: str, actor: User | None
) -> User:
    """Create a staff account. ``actor`` is None when created from the command line."""
    username = username.strip()
    errors = _validate_account_fields(
        username=username, full_name=full_name, role=role, password=password
    )
    if errors:
        raise ValidationFailed(errors)
    if find_user_by_username(username) is not None:
        raise Conflict(f"The username “{username}” is already taken.", field="username")
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        password_hash=hash_password(password),
        active=True,
    )
    db.session.add(user)
    # Another request may have created the same username between our check and insert.
    flush_or_conflict(f"The username “{username}” is already taken.", "username")
    record_audit(
        "user.create",
        actor,
        entity_type="user",
        entity_id=user.id,
        summary=f"Created {role} account {username}",
        details={"username": username, "role": role},
    )
    return user


def _active_admin_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True))
        )
        or 0
    )


def _refuse_admin_lockout(
    user: User, *, actor: User | None, role: str | None, active: bool | None
) -> None:
    """Nobody deactivates or demotes themselves, and one active admin always remains."""
    is_self = actor is not None and actor.id == user.id
    if active is False and is_self:
        raise Conflict("You cannot deactivate your own account.", field="active")
    if role is not None and role != "admin" and is_self and user.role == "admin":
        raise Conflict("You cannot remove your own administrator role.", field="role")
    losing_admin = (
        user.role == "admin"
        and user.active
        and (active is False or (role is not None and role != "admin"))
    )
    if losing_admin and _active_admin_count() <= 1:
        raise Conflict("Keep at least one active administrator.", field="role")


def _apply_account_changes(
    user: User,
    *,
    full_name: str | None,
    role: str | None,
    active: bool | None,
    password: str | None,
) -> dict[str, Any]:
    """Change ``user`` and return what changed (old and new values; never a password)."""
    changes: dict[str, Any] = {}
    if full_name is not None and full_name.strip() != user.full_name:
        changes["full_name"] = [user.full_name, full_name.strip()]
        user.full_name = full_name.strip()
    if role is not None and role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
        if not active:
            user.auth_version += 1
    if password is not None:
        changes["password"] = "reset"  # noqa: S105 (records that it changed, never the value)
        user.password_hash = hash_password(password)
        user.auth_version += 1
    return changes


def _audit_action(changes: dict[str, Any], active: bool | None) -> str:
    if set(changes) == {"active"}:
        return "user.activate" if active else "user.deactivate"
    if set(changes) == {"password"}:
        return "user.password_reset"
    return "user.update"


def update_user(
    user: User,
    *,
    actor: User | None,
    full_name: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change a staff account. Deactivation and a new password sign the user out everywhere."""
    errors = _validate_account_fields(
        username=None, full_name=full_name, role=role, password=password
    )
    if errors:
        raise ValidationFailed(errors)
    _refuse_admin_lockout(user, actor=actor, role=role, active=active)
    changes = _apply_account_changes(
        user, full_name=full_name, role=role, active=active, password=password
    )
    if not changes:
        return user
    action = _audit_action(changes, active)
    record_audit(
        action,
        actor,
        entity_type="user",
        entity_id=user.id,
        summary=f"{action.split('.')[1].replace('_', ' ').capitalize()}: {user.username}",
        details=changes,
    )
    db.session.flush()
    return user

"""Who may open which page.

``role_required`` names the roles explicitly (admins are listed wherever they
may act, as in API.md) rather than relying on a hidden hierarchy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user

from webapp.auth.models import ROLES
from webapp.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


def role_required(*roles: str) -> Callable[[F], F]:
    """Let signed-in users with one of ``roles`` through.

    An anonymous visitor is sent to the sign-in page (htmx requests get an
    ``HX-Redirect``); a signed-in user of another role gets 403.
    """
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"role_required needs known roles, got {roles!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


ALL_STAFF = ROLES

"""Sign-in throttling shared by the HTML sign-in page and the API's /auth/login.

Two limits stack: one per username (whatever the address) and one per client
address (whatever the username). Only failed attempts use up the allowance, so
a front desk that signs in often is never throttled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from webapp.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])

# The longest username there can be (users.username is 64 characters): anything longer is cut
# before it becomes a limiter key, so a megabyte of "username" never becomes a megabyte key.
MAX_USERNAME_KEY_LENGTH = 64


def username_key_for(username: str) -> str:
    """The limiter key of a username as typed: case and surrounding spaces ignored, length cut."""
    return "username:" + username.strip()[:MAX_USERNAME_KEY_LENGTH].lower()


def limit_sign_in(
    username_of_request: Callable[[], str], *, success_status: int
) -> Callable[[F], F]:
    """Throttle a sign-in view; a response with ``success_status`` does not count."""

    def username_key() -> str:
        return username_key_for(username_of_request())

    def failed(response: Response) -> bool:
        return response.status_code != success_status

    def decorator(view: F) -> F:
        # shared_limit: the HTML page and the API count against the same allowance.
        limited = limiter.shared_limit(
            lambda: current_app.config["LOGIN_LIMIT_PER_USERNAME"],
            "login-username",
            key_func=username_key,
            methods=["POST"],
            deduct_when=failed,
        )(view)
        return limiter.shared_limit(  # type: ignore[return-value]
            lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
            "login-address",
            key_func=get_remote_address,
            methods=["POST"],
            deduct_when=failed,
        )(limited)

    return decorator

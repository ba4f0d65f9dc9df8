"""What every API resource module shares: blueprint factory, roles, the signed-in API user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import g
from flask_openapi3 import APIBlueprint, Tag

from webapp.api.schemas.common import ErrorResponse
from webapp.auth.models import ROLES, User

F = TypeVar("F", bound=Callable[..., Any])

API_V1 = "/api/v1"
BEARER_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /api/v1/auth/login or /auth/refresh.",
    }
}

# Declared on every operation: the errors any endpoint may answer with.
COMMON_ERRORS: dict[Any, Any] = {
    400: ErrorResponse,
    401: ErrorResponse,
    403: ErrorResponse,
    422: ErrorResponse,
    429: ErrorResponse,
}
NOT_FOUND: dict[Any, Any] = {404: ErrorResponse}
CONFLICT: dict[Any, Any] = {409: ErrorResponse}

# endpoint name -> roles allowed; endpoints missing here need no token at all.
ENDPOINT_ROLES: dict[str, tuple[str, ...]] = {}


def api_blueprint(
    name: str, url_prefix: str, description: str, *, bearer: bool = True
) -> APIBlueprint:
    return APIBlueprint(
        f"api_{name}",
        __name__,
        url_prefix=f"{API_V1}{url_prefix}",
        abp_tags=[Tag(name=name, description=description)],
        abp_security=BEARER_SECURITY if bearer else None,
        abp_responses=COMMON_ERRORS,
    )


def allow(blueprint: APIBlueprint, *roles: str) -> Callable[[F], F]:
    """Let holders of a token of one of ``roles`` call the decorated endpoint.

    Place it below the route decorator. Authentication and this check run in
    the API's ``before_request`` (webapp.api.auth_guard), before the body is
    validated, so a caller without rights never learns about validation.
    """
    if not roles or set(roles) - set(ROLES):
        raise ValueError(f"allow() needs known roles, got {roles!r}")

    def decorator(view: F) -> F:
        ENDPOINT_ROLES[f"{blueprint.name}.{view.__name__}"] = roles
        return view

    return decorator


def api_user() -> User:
    """The user the request's bearer token speaks for (set by the auth guard)."""
    user: User = g.api_user
    return user

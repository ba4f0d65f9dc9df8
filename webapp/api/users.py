"""Staff accounts: POST /users, GET /users, PATCH /users/{id} (admins only)."""

from __future__ import annotations

from flask import Response, jsonify

from webapp.api.blueprint import CONFLICT, NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.paging import paginate
from webapp.api.schemas.common import PageQuery
from webapp.api.schemas.users import UserCreateBody, UserList, UserOut, UserPatchBody, UserPath
from webapp.auth import services as accounts

bp = api_blueprint("users", "/users", "Staff accounts (admins only)")


def _user_json(user: object) -> dict[str, object]:
    return UserOut.model_validate(user).model_dump(mode="json")


@bp.post(
    "",
    summary="Create a staff account",
    description="Admins only. Creates an active account with a role (receptionist, "
    "clinician or admin) and a first password; audited. Refuses: 403 for other roles; 409 "
    "when the username is taken; 422 when a field breaks the account rules (username "
    "characters, password length 10-72, unknown role).",
    responses={201: UserOut, **CONFLICT},
)
@allow(bp, "admin")
def create_user(body: UserCreateBody) -> tuple[Response, int]:
    user = accounts.create_user(
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        password=body.password,
        actor=api_user(),
    )
    return jsonify(_user_json(user)), 201


@bp.get(
    "",
    summary="List staff accounts",
    description="Admins only. Every staff account, active or deactivated, a page at a time "
    "(`page`, `per_page`). Passwords are never listed. Refuses: 403 for other roles; 422 for "
    "a page number or size out of range.",
    responses={200: UserList},
)
@allow(bp, "admin")
def list_users(query: PageQuery) -> Response:
    users, counters = paginate(accounts.users_query(), query)
    return jsonify(items=[_user_json(user) for user in users], **counters)


@bp.patch(
    "/<int:id>",
    summary="Change a staff account; active=false or a new password revokes its tokens at once",
    description="Admins only. Changes the full name, role, active flag or password: only the "
    "fields sent change; audited. Deactivating an account or setting its password revokes "
    "its API tokens at once. Refuses: 403 for other roles; 404 for no such account; 409 when "
    "an admin would deactivate their own account, drop their own admin role, or leave no "
    "active administrator; 422 for an invalid field.",
    responses={200: UserOut, **NOT_FOUND, **CONFLICT},
)
@allow(bp, "admin")
def update_user(path: UserPath, body: UserPatchBody) -> Response:
    user = accounts.update_user(
        accounts.get_user(path.id),
        actor=api_user(),
        full_name=body.full_name,
        role=body.role,
        active=body.active,
        password=body.password,
    )
    return jsonify(_user_json(user))

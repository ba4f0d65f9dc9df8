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


@bp.post("", summary="Create a staff account", responses={201: UserOut, **CONFLICT})
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


@bp.get("", summary="List staff accounts", responses={200: UserList})
@allow(bp, "admin")
def list_users(query: PageQuery) -> Response:
    users, counters = paginate(accounts.users_query(), query)
    return jsonify(items=[_user_json(user) for user in users], **counters)


@bp.patch(
    "/<int:id>",
    summary="Change a staff account; active=false or a new password revokes its tokens at once",
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

"""Departments and their service points.

POST /departments, GET /departments, PATCH /departments/{id},
POST /departments/{id}/service-points.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from webapp.api.blueprint import CONFLICT, NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.schemas.departments import (
    DepartmentCreateBody,
    DepartmentList,
    DepartmentOut,
    DepartmentPatchBody,
    DepartmentPath,
    ServicePointCreateBody,
    ServicePointOut,
)
from webapp.auth.models import ROLES
from webapp.departments import services as departments
from webapp.departments.models import Department
from webapp.departments.targets import wait_targets_of

bp = api_blueprint("departments", "/departments", "Departments and their rooms or counters")


def _department_json(department: Department) -> dict[str, object]:
    answer = DepartmentOut.model_validate(
        {
            **{field: getattr(department, field) for field in DepartmentOut.model_fields},
            "wait_targets": wait_targets_of(department),
        }
    )
    return answer.model_dump(mode="json")


@bp.post(
    "",
    summary="Create a department",
    description="Admins only. Creates a department with a unique code (1-4 capital letters, "
    "the prefix of its ticket numbers), a name, whether it takes walk-ins, the default "
    "service minutes and the opening hours per weekday (null: open at all hours); audited. "
    "Refuses: 403 for other roles; 409 when the code is already in use; 422 for an invalid "
    "field, such as opening hours that are not HH:MM intervals ending after they start.",
    responses={201: DepartmentOut, **CONFLICT},
)
@allow(bp, "admin")
def create_department(body: DepartmentCreateBody) -> tuple[Response, int]:
    department = departments.create_department(
        code=body.code,
        name=body.name,
        accepts_walk_ins=body.accepts_walk_ins,
        default_service_minutes=body.default_service_minutes,
        opening_hours=body.opening_hours,
        actor=api_user(),
    )
    return jsonify(_department_json(department)), 201


@bp.get(
    "",
    summary="Every department with its service points (a plain list, not paged)",
    description="Any role. Every department with its settings, service targets per priority "
    "(minutes) and its rooms or counters, as a plain JSON list. Refuses only a caller "
    "without a valid token (401).",
    responses={200: DepartmentList},
)
@allow(bp, *ROLES)
def list_departments() -> Response:
    return jsonify([_department_json(department) for department in departments.list_departments()])


@bp.patch(
    "/<int:id>",
    summary="Change a department's settings; only the fields sent change",
    description="Admins only (403 for other roles); 404 for no such department; audited. "
    "Edits the name, walk-ins, default service minutes, opening hours (null: open "
    "at all hours) and service targets (`wait_targets`: minutes 0–1440 per priority; "
    "priorities not sent keep their value). 422 names the field that is wrong; the code "
    "cannot be changed here.",
    responses={200: DepartmentOut, **NOT_FOUND},
)
@allow(bp, "admin")
def update_department(path: DepartmentPath, body: DepartmentPatchBody) -> Response:
    department = departments.get_department(path.id)
    sent = body.model_fields_set
    changes: dict[str, Any] = {
        field: getattr(body, field)
        for field in ("name", "accepts_walk_ins", "default_service_minutes", "opening_hours")
        if field in sent
    }
    if body.wait_targets is not None:
        changes["wait_targets"] = body.wait_targets.model_dump(exclude_unset=True)
    departments.update_department(department, actor=api_user(), **changes)
    return jsonify(_department_json(department))


@bp.post(
    "/<int:id>/service-points",
    summary="Add a room or counter to a department",
    description="Admins only. Adds a named room or counter (a service point: where tickets "
    "are called to); audited. Refuses: 403 for other roles; 404 for no such department; 409 "
    "when the department already has a service point of that name; 422 when the name is "
    "blank or longer than 60 characters.",
    responses={201: ServicePointOut, **NOT_FOUND, **CONFLICT},
)
@allow(bp, "admin")
def add_service_point(path: DepartmentPath, body: ServicePointCreateBody) -> tuple[Response, int]:
    department = departments.get_department(path.id)
    point = departments.add_service_point(department, name=body.name, actor=api_user())
    return jsonify(ServicePointOut.model_validate(point).model_dump(mode="json")), 201

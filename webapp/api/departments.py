"""Departments and their service points.

POST /departments, GET /departments, POST /departments/{id}/service-points.
"""

from __future__ import annotations

from flask import Response, jsonify

from webapp.api.blueprint import CONFLICT, NOT_FOUND, allow, api_blueprint, api_user
from webapp.api.schemas.departments import (
    DepartmentCreateBody,
    DepartmentList,
    DepartmentOut,
    DepartmentPath,
    ServicePointCreateBody,
    ServicePointOut,
)
from webapp.auth.models import ROLES
from webapp.departments import services as departments
from webapp.departments.models import Department

bp = api_blueprint("departments", "/departments", "Departments and their rooms or counters")


def _department_json(department: Department) -> dict[str, object]:
    return DepartmentOut.model_validate(department).model_dump(mode="json")


@bp.post("", summary="Create a department", responses={201: DepartmentOut, **CONFLICT})
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
    responses={200: DepartmentList},
)
@allow(bp, *ROLES)
def list_departments() -> Response:
    return jsonify([_department_json(department) for department in departments.list_departments()])


@bp.post(
    "/<int:id>/service-points",
    summary="Add a room or counter to a department",
    responses={201: ServicePointOut, **NOT_FOUND, **CONFLICT},
)
@allow(bp, "admin")
def add_service_point(path: DepartmentPath, body: ServicePointCreateBody) -> tuple[Response, int]:
    department = departments.get_department(path.id)
    point = departments.add_service_point(department, name=body.name, actor=api_user())
    return jsonify(ServicePointOut.model_validate(point).model_dump(mode="json")), 201

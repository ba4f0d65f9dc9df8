"""Admin pages: staff accounts, departments and service points (the audit log: webapp.audit)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.admin.forms import (
    TARGET_FIELD_ALIASES,
    ConfirmForm,
    DepartmentForm,
    EditUserForm,
    NewUserForm,
    ResetPasswordForm,
    ServicePointForm,
)
from webapp.auth import services as accounts
from webapp.auth.permissions import role_required
from webapp.departments import services as departments
from webapp.departments.targets import wait_targets_of
from webapp.domain_errors import DomainError
from webapp.form_errors import describe, show_on_form

bp = Blueprint("admin", __name__, url_prefix="/admin")

View = str | Response | tuple[str, int]


@bp.before_request
@role_required("admin")
def require_admin() -> None:
    """Every page here is for administrators only."""


# ------------------------------------------------------------------ staff


@bp.route("/users")
def users() -> View:
    return render_template("admin/users.html", users=accounts.list_users(), confirm=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> View:
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                username=form.username.data or "",
                full_name=form.full_name.data or "",
                role=form.role.data or "",
                password=form.password.data or "",
                actor=current_user,
            )
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(
                f"Account {user.username} created. Give them their password in person.", "success"
            )
            return redirect(url_for("admin.users"))
    return _form_page("admin/user_new.html", form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> View:
    user = accounts.get_user(user_id)
    form = EditUserForm(obj=user)
    if form.validate_on_submit():
        try:
            accounts.update_user(
                user, actor=current_user, full_name=form.full_name.data, role=form.role.data
            )
        except DomainError as error:
            show_on_form(form, error)
        else:
            flash(f"Saved changes to {user.username}.", "success")
            return redirect(url_for("admin.users"))
    return _form_page(
        "admin/user_edit.html",
        form,
        user=user,
        password_form=ResetPasswordForm(),
        confirm=ConfirmForm(),
    )


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int) -> View:
    user = accounts.get_user(user_id)
    password_form = ResetPasswordForm()
    if password_form.validate_on_submit():
        try:
            accounts.update_user(user, actor=current_user, password=password_form.password.data)
        except DomainError as error:
            show_on_form(password_form, error)
        else:
            flash(
                f"New password set for {user.username}; they were signed out everywhere.", "success"
            )
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _form_page(
        "admin/user_edit.html",
        password_form,
        user=user,
        form=EditUserForm(obj=user),
        password_form=password_form,
        confirm=ConfirmForm(),
    )


@bp.route("/users/<int:user_id>/<any(deactivate, reactivate):change>", methods=["POST"])
def set_user_active(user_id: int, change: str) -> View:
    user = accounts.get_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        accounts.update_user(user, actor=current_user, active=change == "reactivate")
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("admin.users"))
    if change == "deactivate":
        flash(f"{user.username} is deactivated and was signed out.", "success")
    else:
        flash(f"{user.username} can sign in again.", "success")
    return redirect(url_for("admin.users"))


# ------------------------------------------------------------ departments


@bp.route("/departments")
def departments_list() -> View:
    return render_template("admin/departments.html", departments=departments.list_departments())


@bp.route("/departments/new", methods=["GET", "POST"])
def new_department() -> View:
    form = DepartmentForm()
    if form.validate_on_submit():
        hours = form.opening_hours_value()
        if isinstance(hours, str):
            getattr(form, hours).errors = ["Write times like 08:00-12:00, 13:00-17:00."]
        else:
            try:
                department = departments.create_department(
                    code=form.code.data or "",
                    name=form.name.data or "",
                    default_service_minutes=form.default_service_minutes.data or 0,
                    opening_hours=hours,
                    accepts_walk_ins=form.accepts_walk_ins.data,
                    active=form.active.data,
                    wait_targets=form.wait_targets_value(),
                    actor=current_user,
                )
            except DomainError as error:
                show_on_form(form, error, TARGET_FIELD_ALIASES)
            else:
                flash(f"Department {department.code} created. Add its rooms below.", "success")
                return redirect(url_for("admin.edit_department", department_id=department.id))
    return _form_page("admin/department_form.html", form, department=None)


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
def edit_department(department_id: int) -> View:
    department = departments.get_department(department_id)
    form = DepartmentForm(obj=department)
    if request.method == "GET":
        form.fill_opening_hours(department.opening_hours)
        form.fill_wait_targets(wait_targets_of(department))
    if form.validate_on_submit():
        hours = form.opening_hours_value()
        if isinstance(hours, str):
            getattr(form, hours).errors = ["Write times like 08:00-12:00, 13:00-17:00."]
        else:
            try:
                departments.update_department(
                    department,
                    actor=current_user,
                    code=form.code.data,
                    name=form.name.data,
                    default_service_minutes=form.default_service_minutes.data,
                    opening_hours=hours,
                    accepts_walk_ins=form.accepts_walk_ins.data,
                    active=form.active.data,
                    wait_targets=form.wait_targets_value(),
                )
            except DomainError as error:
                show_on_form(form, error, TARGET_FIELD_ALIASES)
            else:
                flash(f"Saved department {department.code}.", "success")
                return redirect(url_for("admin.edit_department", department_id=department.id))
    return _form_page(
        "admin/department_form.html",
        form,
        department=department,
        point_form=ServicePointForm(prefix="new"),
        confirm=ConfirmForm(),
    )


@bp.route("/departments/<int:department_id>/service-points", methods=["POST"])
def add_service_point(department_id: int) -> View:
    department = departments.get_department(department_id)
    point_form = ServicePointForm(prefix="new")
    if point_form.validate_on_submit():
        try:
            point = departments.add_service_point(
                department, name=point_form.name.data or "", actor=current_user
            )
        except DomainError as error:
            show_on_form(point_form, error)
        else:
            flash(f"Added {point.name} to {department.name}.", "success")
            return redirect(url_for("admin.edit_department", department_id=department.id))
    form = DepartmentForm(obj=department, formdata=None)
    form.fill_opening_hours(department.opening_hours)
    form.fill_wait_targets(wait_targets_of(department))
    return _form_page(
        "admin/department_form.html",
        point_form,
        form=form,
        department=department,
        point_form=point_form,
        confirm=ConfirmForm(),
    )


@bp.route("/service-points/<int:point_id>", methods=["POST"])
def rename_service_point(point_id: int) -> View:
    point = departments.get_service_point(point_id)
    form = ServicePointForm(prefix=f"sp{point.id}")
    if form.validate_on_submit():
        try:
            departments.update_service_point(point, name=form.name.data, actor=current_user)
        except DomainError as error:
            flash(describe(error), "error")
        else:
            flash(f"Renamed to {point.name}.", "success")
    else:
        flash("Enter a name for the room or counter.", "error")
    return redirect(url_for("admin.edit_department", department_id=point.department_id))


@bp.route("/service-points/<int:point_id>/<any(deactivate, reactivate):change>", methods=["POST"])
def set_service_point_active(point_id: int, change: str) -> View:
    point = departments.get_service_point(point_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        departments.update_service_point(point, active=change == "reactivate", actor=current_user)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"{point.name} is now {'active' if point.active else 'inactive'}.", "success")
    return redirect(url_for("admin.edit_department", department_id=point.department_id))


def _form_page(template: str, submitted_form: object, **context: object) -> View:
    """Render a form page; a submitted form with errors answers 422 so nothing commits."""
    context.setdefault("form", submitted_form)
    status = 422 if request.method == "POST" else 200
    return render_template(template, **context), status

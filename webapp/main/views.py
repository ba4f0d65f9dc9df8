"""The dashboard at / and the operations probes."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.permissions import ALL_STAFF, role_required
from webapp.extensions import csrf, limiter
from webapp.main import services
from webapp.queue.views.breaches import breaches_now
from webapp.tasks import last_worker_heartbeat

bp = Blueprint("main", __name__)


@bp.route("/")
@role_required(*ALL_STAFF)
def dashboard() -> str:
    context: dict[str, object] = {"departments": services.departments_today()}
    if current_user.role == "admin":
        context["summary"] = services.admin_summary()
        context["worker_heartbeat"] = last_worker_heartbeat()
        context["breaches"] = breaches_now()
    if current_user.role == "clinician":
        context["service_point"] = services.clinician_service_point(current_user)
    return render_template(f"main/dashboard_{current_user.role}.html", **context)


@bp.route("/healthz")
@limiter.exempt
@csrf.exempt
def healthz() -> Response:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@bp.route("/readyz")
@limiter.exempt
@csrf.exempt
def readyz() -> tuple[Response, int]:
    """Readiness: the database (and Redis when configured) answer; 503 names what is down."""
    checks = services.check_readiness()
    down = sorted(name for name, state in checks.items() if state != "ok")
    if down:
        return jsonify(status="unavailable", down=down, checks=checks), 503
    return jsonify(status="ok", checks=checks), 200

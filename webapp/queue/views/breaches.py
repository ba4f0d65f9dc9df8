"""Current service-target breaches: the admin dashboard's list, refreshed by itself."""

from __future__ import annotations

from flask import render_template

from webapp.auth.permissions import role_required
from webapp.auth.roles import FRONT_DESK
from webapp.departments.services import list_departments
from webapp.queue.targets import Breach, current_breaches
from webapp.queue.views import View, bp
from webapp.session_guard import polled


def breaches_now() -> list[Breach]:
    return current_breaches(list_departments(active_only=True))


@bp.route("/queue/breaches")
@role_required(*FRONT_DESK)
@polled
def breaches() -> View:
    return render_template("queue/_breaches.html", breaches=breaches_now())

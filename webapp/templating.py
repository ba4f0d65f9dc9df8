"""Template filters and globals: local times, durations, navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask, current_app, request
from flask_login import current_user

from webapp import clock
from webapp.clock import local_time


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: tuple[str, ...]


# Only pages that exist are listed; each later feature adds its own entry.
NAVIGATION = (
    NavItem("Dashboard", "main.dashboard", ("receptionist", "clinician", "admin")),
    NavItem("Queue", "queue.board", ("receptionist", "clinician", "admin")),
    NavItem("Workstation", "queue.workstation", ("clinician", "admin")),
    NavItem("Patients", "patients.search", ("receptionist", "clinician", "admin")),
    NavItem("Appointments", "appointments.day", ("receptionist", "clinician", "admin")),
    NavItem("Screens", "display.index", ("receptionist", "clinician", "admin")),
    NavItem("Staff", "admin.users", ("admin",)),
    NavItem("Departments", "admin.departments_list", ("admin",)),
    NavItem("Kiosks", "kiosk_admin.kiosk_list", ("admin",)),
    NavItem("Webhooks", "webhooks_admin.webhook_list", ("admin",)),
    NavItem("Reports", "reports.daily", ("admin",)),
    NavItem("Messages", "notifications.log_page", ("admin",)),
    NavItem("Audit log", "audit.log", ("admin",)),
)


def local_datetime(value: datetime | None) -> str:
    return local_time(value, "%Y-%m-%d %H:%M")


def duration_minutes(minutes: float | int | None) -> str:
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def age_on(born: date, today: date | None = None) -> int:
    """Age in whole years on ``today`` (default: today in HOSPITAL_TIMEZONE)."""
    if today is None:
        today = clock.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["minutes"] = duration_minutes
    app.jinja_env.filters["age"] = age_on

    @app.context_processor
    def navigation() -> dict[str, object]:
        items: list[NavItem] = []
        if current_user.is_authenticated:
            items = [item for item in NAVIGATION if current_user.role in item.roles]
        return {
            "nav_items": items,
            "current_endpoint": request.endpoint,
            "hospital_name": current_app.config["HOSPITAL_NAME"],
        }

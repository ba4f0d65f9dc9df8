"""Small readers for the admin pages' HTML (no HTML parser is installed)."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import DEFAULT_PASSWORD
from webapp.audit.models import AuditLog
from webapp.extensions import db


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def field_error(body: str, field_id: str) -> str | None:
    """The error text shown under the field with this id, or None."""
    match = re.search(
        rf'<small id="{re.escape(field_id)}-error"[^>]*>(.*?)</small>', body, re.DOTALL
    )
    return html.unescape(match.group(1)).strip() if match else None


def input_value(body: str, field_id: str) -> str | None:
    """The value attribute of the <input> with this id, or None when it has none."""
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', body)
    assert tag is not None, f"no input with id {field_id}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def is_checked(body: str, field_id: str) -> bool:
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', body)
    assert tag is not None, f"no input with id {field_id}"
    return re.search(r"\bchecked\b", tag.group(0)) is not None


def flashes(body: str) -> list[str]:
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m)).split())
        for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', body, re.DOTALL)
    ]


def main_nav(body: str) -> str:
    match = re.search(r'<header class="site-header">(.*?)</header>', body, re.DOTALL)
    assert match is not None
    return match.group(1)


def can_sign_in(client: FlaskClient, username: str, password: str = DEFAULT_PASSWORD) -> bool:
    response = client.post("/login", data={"username": username, "password": password})
    return response.status_code == 302


def change_audit_count() -> int:
    """Audit rows written for changes (sign-in and sign-out rows left out)."""
    return (
        db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action.not_like("auth.%"))
        )
        or 0
    )

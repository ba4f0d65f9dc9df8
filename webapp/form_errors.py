"""Showing a service's domain error next to the form field it concerns."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash
from flask_wtf import FlaskForm

from webapp.domain_errors import Conflict, DomainError, ValidationFailed


def show_on_form(
    form: FlaskForm, error: DomainError, aliases: Mapping[str, str] | None = None
) -> None:
    """Attach ``error`` to the matching fields of ``form``; flash what matches no field.

    ``aliases`` maps a service's field name to the form's where they differ. A
    dotted name such as ``opening_hours.tue`` falls back to its last part (``tue``).
    """
    aliases = aliases or {}
    if isinstance(error, ValidationFailed):
        problems = error.errors
    elif isinstance(error, Conflict) and error.field:
        problems = {error.field: error.message}
    else:
        flash(error.message, "error")
        return
    for field_name, message in problems.items():
        target = aliases.get(field_name, field_name)
        field = getattr(form, target, None) or getattr(form, target.rsplit(".", 1)[-1], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), message]
        else:
            flash(message, "error")


def describe(error: DomainError) -> str:
    """One sentence for a flash message."""
    if isinstance(error, ValidationFailed):
        return " ".join(error.errors.values())
    return error.message

"""The staff queue screens: the reception board (``board``) and the clinician workstation
(``workstation``), on one blueprint. The public screens live in ``webapp.display`` and
``webapp.tickets``."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect
from werkzeug.wrappers import Response

from webapp.database import utcnow
from webapp.domain_errors import DomainError
from webapp.extensions import db
from webapp.form_errors import describe
from webapp.queue.forms import PRIORITY_CHOICES
from webapp.queue.rules import PRIORITY_LABELS, STATUS_LABELS

bp = Blueprint("queue", __name__)

View = str | Response | tuple[str, int]


def minutes_since(moment: datetime | None, until: datetime | None = None) -> int:
    if moment is None:
        return 0
    return max(0, int(((until or utcnow()) - moment).total_seconds() // 60))


@bp.context_processor
def queue_helpers() -> dict[str, object]:
    return {
        "priority_labels": PRIORITY_LABELS,
        "status_labels": STATUS_LABELS,
        "priority_choices": PRIORITY_CHOICES,
        "minutes_since": minutes_since,
    }


def refused(error: DomainError, target: str) -> Response:
    """Flash what went wrong and go back; nothing the refused action started is kept."""
    db.session.rollback()
    flash(describe(error), "error")
    return redirect(target)


def flash_form_errors(errors: dict[str, list[str]]) -> None:
    """One flash with every message of a form that did not validate."""
    flash(" ".join(message for messages in errors.values() for message in messages), "error")


# The screens register their routes on ``bp``.
from webapp.queue.views import board, breaches, workstation  # noqa: E402

__all__ = ["View", "board", "bp", "breaches", "workstation"]

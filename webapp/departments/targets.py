"""Service targets: how long a patient of each priority may wait (checked in → called).

Each department keeps its own targets; a priority it has not set uses the house default.
The ticket-side reading (ok / at risk / breached for a waiting ticket) is in
``webapp.queue.targets``; this module only knows the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.departments.models import Department
from webapp.domain_errors import ValidationFailed

# Minutes, most urgent first. The keys are the queue's priorities (webapp.queue.models
# PRIORITIES; a test keeps the two in step, since departments may not import the queue).
DEFAULT_WAIT_TARGETS: dict[str, int] = {"emergency": 0, "urgent": 15, "priority": 30, "routine": 60}
MAX_TARGET_MINUTES = 1440
# A waiting ticket is "at risk" once it has waited this share of its target.
AT_RISK_SHARE = 0.8

WaitTargets = dict[str, int]


def wait_targets_of(department: Department) -> WaitTargets:
    """The department's targets for every priority, defaults filled in."""
    return {**DEFAULT_WAIT_TARGETS, **(department.wait_targets or {})}


def normalise_wait_targets(value: Any, field: str = "wait_targets") -> WaitTargets:
    """Check a partial ``{"routine": 45}`` mapping and return it with whole minutes.

    A problem with one priority is reported under ``"<field>.<priority>"``. Priorities not
    given are left out (the caller merges them over what the department has).
    """
    if not isinstance(value, Mapping):
        raise ValidationFailed({field: "Give minutes per priority, e.g. routine: 60."})
    cleaned: WaitTargets = {}
    errors: dict[str, str] = {}
    for priority, minutes in value.items():
        if priority not in DEFAULT_WAIT_TARGETS:
            # The unknown key is not repeated back: it is whatever the caller sent.
            errors[field] = "Unknown priority; use emergency, urgent, priority or routine."
            continue
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not 0 <= minutes <= MAX_TARGET_MINUTES
        ):
            errors[f"{field}.{priority}"] = (
                f"Use a whole number of minutes from 0 to {MAX_TARGET_MINUTES}."
            )
            continue
        cleaned[priority] = minutes
    if errors:
        raise ValidationFailed(errors)
    return cleaned

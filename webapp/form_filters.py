"""Filters shared by the HTML forms' fields (wtforms ``filters=[...]``)."""

from __future__ import annotations

from typing import Any


def strip_text(value: Any) -> Any:
    """Surrounding spaces removed from typed text, so " " is an empty answer, not a value.

    Anything else (``None`` when the field was not sent) passes through unchanged.
    """
    return value.strip() if isinstance(value, str) else value

"""Reading list and filter inputs from query strings: page numbers and filter dates.

Query strings are typed or edited by hand; whatever they hold must end in the
page, a clear 4xx or a form error, never a 500 from a number the database
cannot hold or a date the calendar cannot reach.
"""

from __future__ import annotations

import re

from flask import abort, request
from wtforms import Field, Form
from wtforms.validators import ValidationError

from webapp import clock

# Far beyond any real list, and small enough that the row offset (page × per page)
# fits a 64-bit integer on every database.
MAX_PAGE = 1_000_000
PAGE_PATTERN = re.compile(r"[0-9]+")


def page_number(name: str = "page") -> int:
    """The 1-based page asked for: 1 when absent or unreadable; 404 beyond MAX_PAGE."""
    text = request.args.get(name, "").strip()
    if not PAGE_PATTERN.fullmatch(text):  # int() would also take "1_000" and refuse "²"
        return 1  # as before: no number (or a negative one) is the first page
    # Compare the length first: int() refuses strings of over 4300 digits.
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_PAGE)) or int(digits) > MAX_PAGE:
        abort(404, "There is no such page. Go back to the first page of the list.")
    return max(int(digits), 1)


def filter_date_in_range(form: Form, field: Field) -> None:
    """A form validator for filter dates: the clock's range of days a person may name."""
    if field.data is not None and not clock.in_day_range(field.data):
        raise ValidationError(clock.DAY_RANGE_MESSAGE)

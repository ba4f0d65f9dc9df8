"""fits_opening_hours and opening_hours_text: where a visit fits, and how hours read to staff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from webapp.departments.models import Department
from webapp.departments.services import fits_opening_hours, opening_hours_text

MONDAY = date(2025, 6, 9)
DAY = {name: MONDAY + timedelta(days=offset) for offset, name in enumerate(
    ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
)}  # fmt: skip
HOURS: dict[str, Any] = {
    "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
    "tue": [["08:00", "12:00"], ["12:00", "17:00"]],  # two intervals that touch
    "fri": [["08:00", "17:00"]],
    "sat": [["20:00", "24:00"]],
    "sun": [["00:00", "06:00"]],
}
LONDON = ZoneInfo("Europe/London")


def department(hours: Any = HOURS) -> Department:
    return Department(code="OP", name="Outpatients", opening_hours=hours)


def moment(day: str, hhmm: str, zone: Any = UTC) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(*DAY[day].timetuple()[:3], tzinfo=zone) + timedelta(
        hours=hours, minutes=minutes
    )


def fits(day: str, start: str, end: str, end_day: str | None = None, hours: Any = HOURS) -> bool:
    return fits_opening_hours(
        department(hours), moment(day, start), moment(end_day or day, end), "UTC"
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("08:00", "08:20", True),  # starts as it opens
        ("11:40", "12:00", True),  # ends as it closes
        ("16:40", "17:00", True),
        ("08:00", "12:00", True),  # the whole interval
        ("07:59", "08:19", False),  # starts before opening
        ("07:40", "08:00", False),  # ends as it opens: entirely before
        ("11:50", "12:10", False),  # runs past closing
        ("16:50", "17:10", False),
        ("12:00", "12:20", False),  # starts at closing: an end is not a start
        ("12:40", "13:00", False),  # in the lunch gap
        ("11:50", "13:10", False),  # spans the gap into the next interval
        ("17:00", "17:20", False),
    ],
)
def test_fits_within_one_interval_with_inclusive_boundaries(
    start: str, end: str, expected: bool
) -> None:
    assert fits("mon", start, end) is expected


def test_spanning_two_touching_intervals_is_refused() -> None:
    assert fits("tue", "11:40", "12:00") is True
    assert fits("tue", "12:00", "12:20") is True
    assert fits("tue", "11:50", "12:10") is False


def test_a_day_without_hours_is_closed() -> None:
    assert fits("wed", "10:00", "10:20") is False


def test_ending_exactly_at_midnight_fits_when_open_until_24_00() -> None:
    assert fits("sat", "23:40", "00:00", end_day="sun") is True
    assert fits("sat", "20:00", "00:00", end_day="sun") is True


def test_spanning_midnight_is_refused_even_when_both_days_are_open() -> None:
    assert fits("sat", "23:50", "00:10", end_day="sun") is False


def test_ending_at_midnight_is_refused_when_not_open_until_24_00() -> None:
    assert fits("fri", "23:40", "00:00", end_day="sat") is False
    assert fits("fri", "16:40", "00:00", end_day="sat") is False


def test_a_visit_starting_at_midnight_belongs_to_the_new_day() -> None:
    assert fits("sun", "00:00", "00:20") is True
    assert fits("sun", "05:40", "06:00") is True
    assert fits("sun", "05:50", "06:10") is False


def test_a_visit_of_more_than_a_day_is_refused() -> None:
    assert fits("sat", "20:00", "20:10", end_day="sun") is False
    everything = {day: [["00:00", "24:00"]] for day in DAY}
    assert fits("mon", "08:00", "08:00", end_day="tue", hours=everything) is False


def test_no_opening_hours_means_open_at_all_hours() -> None:
    assert fits("wed", "03:00", "03:20", hours=None) is True
    assert fits("sat", "23:50", "00:10", end_day="sun", hours=None) is True


def test_an_empty_mapping_means_closed_every_day() -> None:
    assert fits("mon", "09:00", "09:20", hours={}) is False


def test_times_are_read_in_the_given_time_zone() -> None:
    # 07:30–07:50 UTC is 08:30–08:50 in London in June (BST).
    start, end = moment("mon", "07:30"), moment("mon", "07:50")

    assert fits_opening_hours(department(), start, end, "Europe/London") is True
    assert fits_opening_hours(department(), start, end, "UTC") is False


def test_the_end_at_24_00_in_local_time() -> None:
    # 22:40–23:00 UTC is 23:40–00:00 in London: fits Saturday's 20:00–24:00.
    start, end = moment("sat", "22:40"), moment("sat", "23:00")

    assert fits_opening_hours(department(), start, end, "Europe/London") is True


def test_the_start_and_end_may_be_in_any_offset() -> None:
    start = moment("mon", "09:00", LONDON)
    end = start.astimezone(ZoneInfo("Asia/Tokyo")) + timedelta(minutes=20)

    assert fits_opening_hours(department(), start, end, "Europe/London") is True


# ------------------------------------------------------------ opening_hours_text


def test_text_of_a_day_with_two_intervals() -> None:
    assert opening_hours_text(department(), DAY["mon"]) == "08:00–12:00, 13:00–17:00"


def test_text_of_an_interval_until_midnight() -> None:
    assert opening_hours_text(department(), DAY["sat"]) == "20:00–24:00"


def test_text_of_a_closed_day() -> None:
    assert opening_hours_text(department(), DAY["wed"]) == "closed"


def test_text_without_opening_hours() -> None:
    assert opening_hours_text(department(None), DAY["wed"]) == "open at all hours"

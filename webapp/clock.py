"""The hospital's clock: its time zone, today, service days, day bounds and local times.

Every other module asks this one; nothing else reads ``HOSPITAL_TIMEZONE``.
The database stores UTC; people see and type times in the hospital's zone, and
a service day is a calendar day there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from webapp.database import utcnow

# The days a person may name (a filter, a booking): outside them a date makes no sense for
# a hospital and would overflow when turned into a day's bounds in the hospital's zone.
EARLIEST_DAY = date(2, 1, 1)
LATEST_DAY = date(9000, 12, 31)
DAY_RANGE_MESSAGE = f"Give a date between the years {EARLIEST_DAY.year} and {LATEST_DAY.year}."


def in_day_range(day: date) -> bool:
    """Whether ``day`` lies between EARLIEST_DAY and LATEST_DAY."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def hospital_zone() -> ZoneInfo:
    """The configured ``HOSPITAL_TIMEZONE`` (validated at start-up)."""
    return ZoneInfo(current_app.config["HOSPITAL_TIMEZONE"])


def local(moment: datetime) -> datetime:
    """An aware moment as wall-clock time in the hospital's zone."""
    return moment.astimezone(hospital_zone())


def today() -> date:
    """Today's date in the hospital's zone."""
    return local(utcnow()).date()


def service_day(moment: datetime | None = None) -> date:
    """The service day a moment belongs to (default: now)."""
    return today() if moment is None else local(moment).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start of ``day`` and of the next day in the hospital's zone (end exclusive)."""
    zone = hospital_zone()
    return datetime.combine(day, time.min, zone), datetime.combine(
        day + timedelta(days=1), time.min, zone
    )


def local_time(moment: datetime | None, fmt: str = "%H:%M") -> str:
    """A moment shown in the hospital's zone (24-hour clock); "—" for none."""
    if moment is None:
        return "—"
    return local(moment).strftime(fmt)


def from_local(wall_clock: datetime) -> datetime | None:
    """A naive wall-clock time in the hospital's zone as an aware datetime.

    None when that wall-clock time does not exist (the hour skipped when clocks go forward).
    """
    zone = hospital_zone()
    aware = wall_clock.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall_clock:
        return None
    return aware

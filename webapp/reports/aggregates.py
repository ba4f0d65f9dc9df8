"""The computing core of the reports: additive per-day aggregates and the figures drawn from them.

A ``DayAggregate`` holds, for one department and one service day, only sums, counts and
histograms, so aggregates of several days or departments merge by adding (a week, the
totals row) and the figures (``Metrics``) are derived last. ``day_aggregates`` builds them
with a fixed handful of aggregate queries, whatever the number of tickets.

Definitions (see DOMAIN.md, Reports):

- counts are by the ticket's final status, over the tickets of that service day;
- wait = the ticket's first ``call`` QueueEvent minus ``checked_in_at`` (a recall does not
  restart it; ``ticket.called_at`` is overwritten by a recall, so the events are read);
- service time = ``started_at`` → ``ended_at`` of completed tickets;
- arrivals per hour = ``checked_in_at`` by hour in HOSPITAL_TIMEZONE;
- served per hour = completed tickets by the hour of ``ended_at``, in HOSPITAL_TIMEZONE;
- estimate error = |``estimated_wait_at_check_in`` − actual wait| over called tickets that
  had an estimate; "within estimate" = actual wait ≤ estimate;
- called within target, per priority: of the tickets with a wait (the same first call), those
  whose wait ≤ the department's target for the ticket's priority (whole minutes, so a wait of
  exactly the target is within it and one a second longer is not). The targets are those in
  force when the day is aggregated (``wait_targets``), read in the same query as the counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from webapp import clock
from webapp.auth.models import User
from webapp.departments.models import Department
from webapp.departments.targets import DEFAULT_WAIT_TARGETS
from webapp.extensions import db
from webapp.queue.models import QueueEvent, Ticket

HOURS = 24
# Bumped whenever DayAggregate gains a field: a stored aggregate of an older version lacks it,
# so the reports compute that day live instead of reading zeros (see services.aggregates_between).
# 3: called within target per priority (service targets).
AGGREGATE_VERSION = 3
# The priorities, most urgent first (the queue's PRIORITIES, which the targets follow).
PRIORITY_ORDER = tuple(DEFAULT_WAIT_TARGETS)
# The wait distribution's bands, in minutes: 0–9, 10–19, … 50–59, then "60 or more".
WAIT_BAND_MINUTES = 10
WAIT_BAND_LAST = 60


@dataclass
class DayAggregate:
    """The additive raw material of every figure, for one department and service day
    (or, after merging, for any set of them)."""

    tickets_issued: int = 0
    walk_ins: int = 0
    appointments: int = 0
    served: int = 0
    no_shows: int = 0
    cancelled: int = 0
    transferred: int = 0
    wait_count: int = 0
    wait_sum_minutes: float = 0.0
    # {"<whole minutes waited, floored>": tickets}
    wait_histogram: dict[str, int] = field(default_factory=dict)
    service_count: int = 0
    service_sum_minutes: float = 0.0
    arrivals_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS)
    served_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS)
    served_by_clinician: dict[int, int] = field(default_factory=dict)
    estimate_count: int = 0
    estimate_abs_error_sum: float = 0.0
    called_within_estimate: int = 0
    # Per priority: tickets with a wait (called), and those called within the target.
    called_by_priority: dict[str, int] = field(default_factory=dict)
    within_target_by_priority: dict[str, int] = field(default_factory=dict)
    # The targets (minutes per priority) the day was judged against; after merging, a
    # priority whose targets differed is None ("varies"); an aggregate with no ticket has none.
    wait_targets: dict[str, int | None] = field(default_factory=dict)

    def merge(self, other: DayAggregate) -> DayAggregate:
        """A new aggregate adding both: counts and sums add, histograms and dicts add by key."""
        return DayAggregate(
            tickets_issued=self.tickets_issued + other.tickets_issued,
            walk_ins=self.walk_ins + other.walk_ins,
            appointments=self.appointments + other.appointments,
            served=self.served + other.served,
            no_shows=self.no_shows + other.no_shows,
            cancelled=self.cancelled + other.cancelled,
            transferred=self.transferred + other.transferred,
            wait_count=self.wait_count + other.wait_count,
            wait_sum_minutes=self.wait_sum_minutes + other.wait_sum_minutes,
            wait_histogram=_add_by_key(self.wait_histogram, other.wait_histogram),
            service_count=self.service_count + other.service_count,
            service_sum_minutes=self.service_sum_minutes + other.service_sum_minutes,
            arrivals_by_hour=[
                a + b for a, b in zip(self.arrivals_by_hour, other.arrivals_by_hour, strict=True)
            ],
            served_by_hour=[
                a + b for a, b in zip(self.served_by_hour, other.served_by_hour, strict=True)
            ],
            served_by_clinician=_add_by_key(self.served_by_clinician, other.served_by_clinician),
            estimate_count=self.estimate_count + other.estimate_count,
            estimate_abs_error_sum=self.estimate_abs_error_sum + other.estimate_abs_error_sum,
            called_within_estimate=self.called_within_estimate + other.called_within_estimate,
            called_by_priority=_add_by_key(self.called_by_priority, other.called_by_priority),
            within_target_by_priority=_add_by_key(
                self.within_target_by_priority, other.within_target_by_priority
            ),
            wait_targets=_merge_targets(self.wait_targets, other.wait_targets),
        )

    def __add__(self, other: DayAggregate) -> DayAggregate:
        return self.merge(other)


def _add_by_key(left: Mapping[Any, int], right: Mapping[Any, int]) -> dict[Any, int]:
    total: Counter[Any] = Counter(left)
    total.update(right)
    return dict(total)


def _merge_targets(
    left: Mapping[str, int | None], right: Mapping[str, int | None]
) -> dict[str, int | None]:
    """The targets both agree on; None where they differ (a priority only one has keeps it)."""
    merged: dict[str, int | None] = dict(left)
    for priority, minutes in right.items():
        if priority not in merged:
            merged[priority] = minutes
        elif merged[priority] != minutes:
            merged[priority] = None
    return merged


def merge_all(aggregates: Iterable[DayAggregate]) -> DayAggregate:
    """All the given aggregates added together (an empty aggregate for none)."""
    total = DayAggregate()
    for aggregate in aggregates:
        total = total.merge(aggregate)
    return total


# --- Computing the aggregates with aggregate SQL ---------------------------------------------


def _is_sqlite() -> bool:
    return bool(db.session.get_bind().dialect.name == "sqlite")


def _minutes_between(later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later − earlier`` in (fractional) minutes, in the database."""
    if _is_sqlite():
        # SQLite keeps UTC timestamps as text; julianday counts days in a float, so the
        # seconds are rounded to the millisecond lest 5 minutes come out as 4.99999.
        seconds = func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
        return seconds / 60.0
    return func.extract("epoch", later - earlier) / 60.0


def _floor(value: ColumnElement[Any]) -> ColumnElement[Any]:
    # Waits are never negative, so SQLite's truncating cast is a floor there.
    return cast(value, Integer) if _is_sqlite() else cast(func.floor(value), Integer)


def _utc_hour_start(moment: Any) -> ColumnElement[Any]:
    """The UTC hour a timestamp falls in (text on SQLite, a naive UTC timestamp on PostgreSQL)."""
    if _is_sqlite():
        return func.strftime("%Y-%m-%d %H:00:00", moment)
    return func.date_trunc("hour", func.timezone("UTC", moment))


def _as_utc(hour_start: str | datetime) -> datetime:
    moment = datetime.fromisoformat(hour_start) if isinstance(hour_start, str) else hour_start
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _as_date(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)


def _within(rows: Iterable[tuple[int, int, int]], target: int) -> int:
    """Tickets waiting at most ``target`` whole minutes, from (whole minutes waited, tickets,
    tickets past that whole minute) rows: below the target, or exactly on it."""
    return sum(
        tickets if minutes < target else tickets - past
        for minutes, tickets, past in rows
        if minutes <= target
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def day_aggregates(
    first_day: date,
    last_day: date,
    department_id: int | None = None,
    *,
    kept_targets: Mapping[tuple[int, date], Mapping[str, int]] | None = None,
) -> dict[tuple[int, date], DayAggregate]:
    """The aggregate of each department and service day from ``first_day`` to ``last_day``
    (inclusive) that has tickets, keyed by (department id, day); one department if given.

    Waits are judged against each department's service targets as they are now, except for
    the (department, day)s in ``kept_targets``, which keep the targets given (a stored past
    day computed again keeps the targets of its day).

    Runs five aggregate queries whatever the number of tickets.
    """
    in_range = [Ticket.service_day >= first_day, Ticket.service_day <= last_day]
    if department_id is not None:
        in_range.append(Ticket.department_id == department_id)
    result: dict[tuple[int, date], DayAggregate] = {}

    def aggregate_for(department: int, day: Any) -> DayAggregate:
        return result.setdefault((department, _as_date(day)), DayAggregate())

    completed = Ticket.status == "completed"
    timed_service = and_(completed, Ticket.started_at.isnot(None), Ticket.ended_at.isnot(None))
    service_minutes = _minutes_between(Ticket.ended_at, Ticket.started_at)
    counts = (
        select(
            Ticket.department_id,
            Ticket.service_day,
            func.count(Ticket.id),
            _count_if(Ticket.appointment_id.is_(None)),
            _count_if(Ticket.appointment_id.isnot(None)),
            _count_if(completed),
            _count_if(Ticket.status == "no_show"),
            _count_if(Ticket.status == "cancelled"),
            _count_if(Ticket.status == "transferred"),
            _count_if(timed_service),
            func.coalesce(func.sum(case((timed_service, service_minutes), else_=None)), 0),
            # The department's targets now (one value per group: max picks it portably);
            # null where the department keeps the house default.
            *(func.max(Department.wait_targets[p].as_integer()) for p in PRIORITY_ORDER),
        )
        .join(Department, Department.id == Ticket.department_id)
        .where(*in_range)
        .group_by(Ticket.department_id, Ticket.service_day)
    )
    current_targets: dict[tuple[int, date], dict[str, int]] = {}
    for row in db.session.execute(counts):
        aggregate = aggregate_for(row[0], row[1])
        (
            aggregate.tickets_issued,
            aggregate.walk_ins,
            aggregate.appointments,
            aggregate.served,
            aggregate.no_shows,
            aggregate.cancelled,
            aggregate.transferred,
            aggregate.service_count,
        ) = (int(value) for value in row[2:10])
        aggregate.service_sum_minutes = float(row[10])
        current_targets[(row[0], _as_date(row[1]))] = {
            priority: DEFAULT_WAIT_TARGETS[priority] if minutes is None else int(minutes)
            for priority, minutes in zip(PRIORITY_ORDER, row[11:], strict=True)
        }

    first_call = (
        select(QueueEvent.ticket_id, func.min(QueueEvent.created_at).label("called_at"))
        .where(QueueEvent.action == "call")
        .group_by(QueueEvent.ticket_id)
        .subquery()
    )
    wait = _minutes_between(first_call.c.called_at, Ticket.checked_in_at)
    whole_minutes = _floor(wait)
    bucket = whole_minutes.label("bucket")
    estimate = Ticket.estimated_wait_at_check_in
    has_estimate = estimate.isnot(None)
    waits = (
        select(
            Ticket.department_id,
            Ticket.service_day,
            bucket,
            func.count(Ticket.id),
            func.sum(wait),
            _count_if(has_estimate),
            func.coalesce(func.sum(case((has_estimate, func.abs(estimate - wait)), else_=None)), 0),
            _count_if(and_(has_estimate, wait <= estimate)),
            Ticket.priority,
            # Waits past the whole minute (12:30 in bucket 12): over a 12-minute target.
            _count_if(wait > whole_minutes),
        )
        .join(first_call, first_call.c.ticket_id == Ticket.id)
        .where(*in_range)
        .group_by(
            Ticket.department_id, Ticket.service_day, Ticket.priority, literal_column("bucket")
        )
    )
    # {(department, day): {priority: [(whole minutes, tickets, tickets past the minute)]}}
    by_priority: dict[tuple[int, date], dict[str, list[tuple[int, int, int]]]] = {}
    for row in db.session.execute(waits):
        aggregate = aggregate_for(row[0], row[1])
        key = str(int(row[2]))
        aggregate.wait_histogram[key] = aggregate.wait_histogram.get(key, 0) + int(row[3])
        aggregate.wait_count += int(row[3])
        aggregate.wait_sum_minutes += float(row[4])
        aggregate.estimate_count += int(row[5])
        aggregate.estimate_abs_error_sum += float(row[6])
        aggregate.called_within_estimate += int(row[7])
        by_priority.setdefault((row[0], _as_date(row[1])), {}).setdefault(row[8], []).append(
            (int(row[2]), int(row[3]), int(row[9]))
        )
    for day_key, targets_now in current_targets.items():
        targets = dict((kept_targets or {}).get(day_key) or targets_now)
        aggregate = result[day_key]
        aggregate.wait_targets = {p: targets.get(p, targets_now[p]) for p in PRIORITY_ORDER}
        for priority, rows in by_priority.get(day_key, {}).items():
            target = aggregate.wait_targets.get(priority)
            aggregate.called_by_priority[priority] = sum(tickets for _m, tickets, _o in rows)
            aggregate.within_target_by_priority[priority] = (
                0 if target is None else _within(rows, target)
            )

    # Grouped by the UTC hour on the database, shifted to the hospital's zone here: portable,
    # and right across a DST change because each UTC hour is converted on its own.
    hour = _utc_hour_start(Ticket.checked_in_at).label("utc_hour")
    arrivals = (
        select(Ticket.department_id, Ticket.service_day, hour, func.count(Ticket.id))
        .where(*in_range)
        .group_by(Ticket.department_id, Ticket.service_day, literal_column("utc_hour"))
    )
    for row in db.session.execute(arrivals):
        local_hour = clock.local(_as_utc(row[2])).hour
        aggregate_for(row[0], row[1]).arrivals_by_hour[local_hour] += int(row[3])

    ended_hour = _utc_hour_start(Ticket.ended_at).label("utc_hour")
    served_hours = (
        select(Ticket.department_id, Ticket.service_day, ended_hour, func.count(Ticket.id))
        .where(*in_range, completed, Ticket.ended_at.isnot(None))
        .group_by(Ticket.department_id, Ticket.service_day, literal_column("utc_hour"))
    )
    for row in db.session.execute(served_hours):
        local_hour = clock.local(_as_utc(row[2])).hour
        aggregate_for(row[0], row[1]).served_by_hour[local_hour] += int(row[3])

    served = (
        select(Ticket.department_id, Ticket.service_day, Ticket.clinician_id, func.count(Ticket.id))
        .where(*in_range, completed, Ticket.clinician_id.isnot(None))
        .group_by(Ticket.department_id, Ticket.service_day, Ticket.clinician_id)
    )
    for row in db.session.execute(served):
        aggregate_for(row[0], row[1]).served_by_clinician[int(row[2])] = int(row[3])
    return result


# --- Figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetFigure:
    """One priority's "called within target": of the ``called`` tickets (those with a wait),
    ``within_target`` waited at most ``target_minutes``. The target is None when it is not
    known (no ticket) or when the days or departments merged had different ones
    (``target_varies``)."""

    priority: str
    target_minutes: int | None
    target_varies: bool
    called: int
    within_target: int

    @property
    def share(self) -> float | None:
        return _share(self.within_target, self.called)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def target_figures(aggregate: DayAggregate) -> list[TargetFigure]:
    """Called within target for each priority, most urgent first (every priority listed)."""
    return [
        TargetFigure(
            priority=priority,
            target_minutes=aggregate.wait_targets.get(priority),
            target_varies=priority in aggregate.wait_targets
            and aggregate.wait_targets[priority] is None,
            called=aggregate.called_by_priority.get(priority, 0),
            within_target=aggregate.within_target_by_priority.get(priority, 0),
        )
        for priority in PRIORITY_ORDER
    ]


def targets_by_priority(figures: Iterable[TargetFigure]) -> dict[str, dict[str, Any]]:
    """The API's ``called_within_target``: ``{priority: {called, within_target, share,
    target_minutes}}`` (target_minutes null when unknown or when it varies)."""
    return {
        figure.priority: {
            "called": figure.called,
            "within_target": figure.within_target,
            "share": figure.share,
            "target_minutes": figure.target_minutes,
        }
        for figure in figures
    }


@dataclass
class Metrics:
    """API.md's metrics, plus the share of patients called within their estimate (0..1).
    None where there is no data."""

    tickets_issued: int
    walk_ins: int
    appointments: int
    served: int
    no_shows: int
    cancelled: int
    transferred: int
    mean_wait_minutes: float | None
    median_wait_minutes: float | None
    p90_wait_minutes: float | None
    mean_service_minutes: float | None
    arrivals_by_hour: list[int]
    served_by_clinician: list[dict[str, Any]]
    estimate_mean_abs_error_minutes: float | None
    called_within_estimate_share: float | None
    # The pages' extras, beyond API.md's metrics.
    served_by_hour: list[int]
    wait_distribution: list[tuple[str, int]]
    # Service targets: per priority (the API's called_within_target), and over all priorities.
    called_within_target: list[TargetFigure]
    called_within_target_share: float | None


def no_show_rate(metrics: Metrics) -> float | None:
    """No-shows among the patients whose visit ended in being seen or not turning up."""
    finished = metrics.served + metrics.no_shows
    return metrics.no_shows / finished if finished else None


def clinician_label(entry: Mapping[str, Any]) -> str:
    """A served-per-clinician entry's name, or ``#id`` for a clinician without one."""
    return str(entry["name"] or f"#{entry['clinician_id']}")


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


def nearest_rank(histogram: Mapping[str, int], percentile: float) -> float | None:
    """The ``percentile`` (0–100] of a {whole minutes: count} histogram by nearest rank:
    the smallest value with at least ``ceil(p/100 × N)`` observations at or below it.

    Minute resolution: waits are floored to whole minutes before counting, so a median of
    12 means a wait between 12:00 and 12:59.
    """
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(percentile / 100 * total))
    seen = 0
    for minutes in sorted(histogram, key=int):
        seen += histogram[minutes]
        if seen >= rank:
            return float(int(minutes))
    raise AssertionError("unreachable: the rank is at most the total")


def wait_distribution(histogram: Mapping[str, int]) -> list[tuple[str, int]]:
    """The number of patients per wait band (``0–9 min`` … ``60+ min``), every band listed."""
    bands = [0] * (WAIT_BAND_LAST // WAIT_BAND_MINUTES + 1)
    for minutes, count in histogram.items():
        bands[min(int(minutes), WAIT_BAND_LAST) // WAIT_BAND_MINUTES] += count
    labels = [
        f"{start}–{start + WAIT_BAND_MINUTES - 1} min"
        for start in range(0, WAIT_BAND_LAST, WAIT_BAND_MINUTES)
    ]
    labels.append(f"{WAIT_BAND_LAST}+ min")
    return list(zip(labels, bands, strict=True))


def metrics_from(aggregate: DayAggregate, clinician_names: Mapping[int, str]) -> Metrics:
    """The figures of an aggregate; ``clinician_names`` maps clinician ids to names."""
    served_by_clinician = [
        {"clinician_id": clinician_id, "name": clinician_names.get(clinician_id), "served": count}
        for clinician_id, count in sorted(
            aggregate.served_by_clinician.items(), key=lambda item: (-item[1], item[0])
        )
    ]
    share = _share(aggregate.called_within_estimate, aggregate.estimate_count)
    return Metrics(
        tickets_issued=aggregate.tickets_issued,
        walk_ins=aggregate.walk_ins,
        appointments=aggregate.appointments,
        served=aggregate.served,
        no_shows=aggregate.no_shows,
        cancelled=aggregate.cancelled,
        transferred=aggregate.transferred,
        mean_wait_minutes=_mean(aggregate.wait_sum_minutes, aggregate.wait_count),
        median_wait_minutes=nearest_rank(aggregate.wait_histogram, 50),
        p90_wait_minutes=nearest_rank(aggregate.wait_histogram, 90),
        mean_service_minutes=_mean(aggregate.service_sum_minutes, aggregate.service_count),
        arrivals_by_hour=list(aggregate.arrivals_by_hour),
        served_by_clinician=served_by_clinician,
        estimate_mean_abs_error_minutes=_mean(
            aggregate.estimate_abs_error_sum, aggregate.estimate_count
        ),
        called_within_estimate_share=share,
        served_by_hour=list(aggregate.served_by_hour),
        wait_distribution=wait_distribution(aggregate.wait_histogram),
        called_within_target=target_figures(aggregate),
        called_within_target_share=_share(
            sum(aggregate.within_target_by_priority.values()),
            sum(aggregate.called_by_priority.values()),
        ),
    )


def clinician_names(aggregates: Iterable[DayAggregate]) -> dict[int, str]:
    """The names of every clinician who served in the given aggregates, in one query."""
    ids: set[int] = set()
    for aggregate in aggregates:
        ids.update(aggregate.served_by_clinician)
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.full_name, User.username).where(User.id.in_(ids))
    )
    return {row[0]: row[1] or row[2] for row in rows}

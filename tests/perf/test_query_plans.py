"""On PostgreSQL with two years of history, the hot read paths use indexes, not a sequential
scan of ``tickets`` or ``queue_events`` (issue 12: the board, the display and call-next as fast
with a million historical tickets as with none).

The database holds ~200,000 finished tickets over two years in ten departments and their
~800,000 events (bulk-inserted, one INSERT ... SELECT each, then ANALYZE), so the planner
chooses as it would in a hospital that has run for a while, plus a live day: finished visits,
rooms calling and serving, patients waiting. Each test runs the real code (a service
function, or a screen's request through the test client) while a ``before_cursor_execute``
listener records every statement with its parameters, then EXPLAINs each one that reads
those tables and walks the plan for a "Seq Scan" of them. The SQL is never written here by
hand, so the guard follows the code as it changes. Nothing is timed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask, request_started
from flask.testing import FlaskClient
from sqlalchemy import event, text

from tests.conftest import _clear_request_globals, make_app, reset_postgres_schema, sign_in
from tests.factories import DepartmentFactory, ServicePointFactory, UserFactory
from webapp import clock
from webapp.auth.models import User
from webapp.database import utcnow
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.queue import moves, state
from webapp.queue.views.workstation import SESSION_POINT

pytestmark = pytest.mark.postgres

DEPARTMENTS = 10
POINTS_PER_DEPARTMENT = 4
PATIENTS = 5_000
HISTORY_DAYS = 730
HISTORY_PER_DAY = 28  # tickets per department and day: 10 × 730 × 28 = 204,400
# The live day of each department, by ticket sequence: finished visits, then one patient
# called (room 1) and one in service (room 2), then the waiting line. Rooms 3 and 4 are free.
LIVE_COMPLETED = 25
LIVE_WAITING = 33
LIVE_TICKETS = LIVE_COMPLETED + 2 + LIVE_WAITING
WATCHED = ("tickets", "queue_events")
_STATEMENTS = re.compile(r"^\s*(SELECT|WITH|UPDATE|DELETE)\b", re.IGNORECASE)
_QUERIES = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
# The most rows of tickets and queue_events one statement may look at. The live day holds
# 600 tickets and ~1,400 events over all departments; one department's history holds 20,440
# tickets and ~80,000 events, so a plan that walks through history is far above this.
MAX_ROWS_READ = 1_000
_WATCHED_NAME = re.compile(r"\b(tickets|queue_events)\b")


# --------------------------------------------------------------------- the data

_PATIENTS_SQL = """
INSERT INTO patients (mrn, first_name, last_name, date_of_birth, sms_opt_in, notes,
                      created_at, updated_at)
SELECT 'P' || lpad(i::text, 7, '0'), 'First' || i, 'Last' || i,
       date '1940-01-01' + (i * 37) % 25000, false, '', now(), now()
FROM generate_series(1, :patients) AS g(i)
"""

# Ticket i of the history: day i / (departments × per day) counted from the first day, then
# its department, then its sequence that day; ids grow with time, as in a real database.
# Mostly completed visits, with no-shows, cancellations and transfers among them.
_HISTORY_TICKETS_SQL = """
WITH departments_n AS (
    SELECT id, code, row_number() OVER (ORDER BY id) - 1 AS n FROM departments
), rooms AS (
    SELECT department_id, min(id) AS first_id FROM service_points GROUP BY department_id
), first_patient AS (
    SELECT min(id) AS id FROM patients
), numbered AS (
    SELECT i,
           (:first_day)::date + i / (:departments * :per_day) AS day,
           (i / :per_day) % :departments AS department_n,
           i % :per_day + 1 AS seq,
           CASE i % 50 WHEN 0 THEN 'no_show' WHEN 1 THEN 'cancelled' WHEN 2 THEN 'transferred'
                ELSE 'completed' END AS status
    FROM generate_series(0, :history_tickets - 1) AS g(i)
), timed AS (
    SELECT numbered.*,
           (day + time '07:30') AT TIME ZONE 'UTC' + seq * interval '13 minutes' AS arrived
    FROM numbered
)
INSERT INTO tickets (department_id, service_day, sequence, number, patient_id, priority, status,
                     service_point_id, clinician_id, queue_key, effective_at, checked_in_at,
                     called_at, started_at, ended_at, recall_count, skip_count, status_token,
                     updated_at)
SELECT d.id, t.day, t.seq, d.code || '-' || lpad(t.seq::text, 3, '0'),
       p.id + (t.i::bigint * 7919) % :patients,
       CASE WHEN t.i % 31 = 0 THEN 'urgent' WHEN t.i % 13 = 0 THEN 'priority'
            ELSE 'routine' END,
       t.status,
       CASE WHEN t.status IN ('cancelled', 'transferred') THEN NULL
            ELSE r.first_id + t.i % :points END,
       NULL,
       extract(epoch FROM t.arrived), t.arrived, t.arrived,
       CASE WHEN t.status IN ('completed', 'no_show') THEN t.arrived + interval '20 minutes' END,
       CASE WHEN t.status = 'completed' THEN t.arrived + interval '22 minutes' END,
       t.arrived + interval '22 minutes' + (t.i % 17) * interval '1 minute',
       CASE WHEN t.i % 19 = 0 THEN 1 ELSE 0 END, 0,
       md5('history-' || t.i), t.arrived + interval '40 minutes'
FROM timed AS t
JOIN departments_n AS d ON d.n = t.department_n
JOIN rooms AS r ON r.department_id = d.id
CROSS JOIN first_patient AS p
"""

# Today in every department, over the last three hours: LIVE_COMPLETED finished visits, the
# patient called to room 1 and the one in service in room 2, then the waiting line.
_LIVE_TICKETS_SQL = """
WITH departments_n AS (
    SELECT id, code, row_number() OVER (ORDER BY id) - 1 AS n FROM departments
), rooms AS (
    SELECT department_id, min(id) AS first_id FROM service_points GROUP BY department_id
), first_patient AS (
    SELECT min(id) AS id FROM patients
), numbered AS (
    SELECT d.id AS department_id, d.code, d.n, g.seq,
           CASE WHEN g.seq <= :completed THEN 'completed'
                WHEN g.seq = :completed + 1 THEN 'called'
                WHEN g.seq = :completed + 2 THEN 'in_service'
                ELSE 'waiting' END AS status,
           (:now)::timestamptz - (:live + 1 - g.seq) * interval '3 minutes' AS arrived
    FROM departments_n AS d CROSS JOIN generate_series(1, :live) AS g(seq)
)
INSERT INTO tickets (department_id, service_day, sequence, number, patient_id, priority, status,
                     service_point_id, clinician_id, queue_key, effective_at, checked_in_at,
                     called_at, started_at, ended_at, recall_count, skip_count, status_token,
                     updated_at)
SELECT t.department_id, :today, t.seq, t.code || '-' || lpad(t.seq::text, 3, '0'),
       p.id + (t.n * :live + t.seq) % :patients,
       CASE WHEN t.seq % 11 = 0 THEN 'urgent' ELSE 'routine' END,
       t.status,
       CASE t.status WHEN 'completed' THEN r.first_id + t.seq % 2
                     WHEN 'called' THEN r.first_id
                     WHEN 'in_service' THEN r.first_id + 1 END,
       NULL,
       extract(epoch FROM t.arrived), t.arrived, t.arrived,
       CASE WHEN t.status <> 'waiting' THEN t.arrived + interval '1 minute' END,
       CASE WHEN t.status IN ('completed', 'in_service') THEN t.arrived + interval '2 minutes' END,
       CASE WHEN t.status = 'completed' THEN t.arrived + interval '2 minutes'
                 + (4 + t.seq % 9) * interval '1 minute' END,
       0, 0, md5('live-' || t.department_id || '-' || t.seq), t.arrived
FROM numbered AS t
JOIN rooms AS r ON r.department_id = t.department_id
CROSS JOIN first_patient AS p
"""

# Every ticket's events, from its timestamps, in time order (so event ids grow with time).
_EVENTS_SQL = """
INSERT INTO queue_events (ticket_id, department_id, action, from_status, to_status,
                          service_point_id, created_at)
SELECT t.id, t.department_id, s.action, s.from_status, s.to_status,
       CASE WHEN s.action = 'check_in' THEN NULL ELSE t.service_point_id END,
       CASE s.action WHEN 'check_in' THEN t.checked_in_at WHEN 'call' THEN t.called_at
                     WHEN 'start' THEN t.started_at ELSE t.ended_at END
FROM tickets AS t
JOIN (VALUES ('check_in', NULL, 'waiting'), ('call', 'waiting', 'called'),
             ('start', 'called', 'in_service'), ('complete', 'in_service', 'completed'),
             ('no_show', 'called', 'no_show'), ('cancel', 'waiting', 'cancelled'),
             ('transfer', 'waiting', 'transferred'))
     AS s(action, from_status, to_status)
  ON s.action = 'check_in'
  OR (s.action = 'call' AND t.called_at IS NOT NULL)
  OR (s.action = 'start' AND t.started_at IS NOT NULL)
  OR (s.to_status = t.status AND s.action NOT IN ('call', 'start'))
ORDER BY 7, 1
"""


# The day counters the check-ins advanced: the next ticket of a day gets the next number.
_SEQUENCES_SQL = """
INSERT INTO ticket_sequences (department_id, service_day, last_value)
SELECT department_id, service_day, max(sequence) FROM tickets GROUP BY department_id, service_day
"""


@dataclass(frozen=True)
class Hospital:
    department_id: int
    department_code: str
    called_point_id: int  # room 1: its patient is called
    serving_point_id: int  # room 2: its patient is in service
    free_point_ids: tuple[int, int]  # rooms 3 and 4
    in_service_ticket_id: int
    waiting_token: str
    new_patient_id: int  # no active ticket anywhere
    clinician_ids: tuple[int, int]
    receptionist_id: int
    today: date


def _fill(today: date) -> None:
    """Two years of history and a live day; then ANALYZE, as autovacuum would after a load."""
    history_tickets = DEPARTMENTS * HISTORY_DAYS * HISTORY_PER_DAY
    superuser = db.session.scalar(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    )
    if superuser:
        # Skip the foreign-key triggers for this load (a third of its time): every row refers
        # to a department, room and patient made just above, by construction.
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(_PATIENTS_SQL), {"patients": PATIENTS})
    db.session.execute(
        text(_HISTORY_TICKETS_SQL),
        {
            "first_day": date.fromordinal(today.toordinal() - HISTORY_DAYS),
            "departments": DEPARTMENTS,
            "per_day": HISTORY_PER_DAY,
            "history_tickets": history_tickets,
            "patients": PATIENTS,
            "points": POINTS_PER_DEPARTMENT,
        },
    )
    db.session.execute(
        text(_LIVE_TICKETS_SQL),
        {
            "completed": LIVE_COMPLETED,
            "live": LIVE_TICKETS,
            "now": utcnow(),
            "today": today,
            "patients": PATIENTS,
        },
    )
    db.session.execute(text(_EVENTS_SQL))
    db.session.execute(text(_SEQUENCES_SQL))
    db.session.commit()
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE patients, tickets, queue_events")
        )


@pytest.fixture(scope="module")
def history_app(postgres_url: str) -> Iterator[Flask]:
    """The app on a migrated PostgreSQL database holding the history and the live day."""
    from flask_migrate import upgrade

    reset_postgres_schema(postgres_url)
    application = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    # Each request gets an empty ``g``, as under a real server (see tests/conftest.py).
    request_started.connect(_clear_request_globals, application)
    with application.app_context():
        upgrade()
        yield application
        db.session.remove()
        db.engine.dispose()
    request_started.disconnect(_clear_request_globals, application)


@pytest.fixture(scope="module")
def hospital(history_app: Flask) -> Hospital:
    return build_hospital()


def build_hospital() -> Hospital:
    """Departments, rooms and staff, then the history and the live day (in the app context)."""
    departments = [
        DepartmentFactory(code=f"P{n:02d}", name=f"Department {n}") for n in range(DEPARTMENTS)
    ]
    for department in departments:
        for room in range(1, POINTS_PER_DEPARTMENT + 1):
            ServicePointFactory(department=department, name=f"Room {room}")
    clinicians = [UserFactory(role="clinician") for _ in range(2)]
    receptionist = UserFactory(role="receptionist")
    db.session.commit()
    today = clock.service_day()
    _fill(today)

    first = departments[0]
    points = sorted(point.id for point in first.service_points)
    in_service, token = db.session.execute(
        text(
            "SELECT (SELECT id FROM tickets WHERE department_id = :d AND status = 'in_service'),"
            " (SELECT status_token FROM tickets WHERE department_id = :d AND status = 'waiting'"
            "  ORDER BY id DESC LIMIT 1)"
        ),
        {"d": first.id},
    ).one()
    new_patient = db.session.scalar(text("SELECT max(id) FROM patients"))
    db.session.commit()
    return Hospital(
        department_id=first.id,
        department_code=first.code,
        called_point_id=points[0],
        serving_point_id=points[1],
        free_point_ids=(points[2], points[3]),
        in_service_ticket_id=in_service,
        waiting_token=token,
        new_patient_id=new_patient,
        clinician_ids=(clinicians[0].id, clinicians[1].id),
        receptionist_id=receptionist.id,
        today=today,
    )


def test_the_database_holds_two_years_of_history_and_a_live_day(hospital: Hospital) -> None:
    counts = db.session.execute(
        text(
            "SELECT (SELECT count(*) FROM tickets),"
            " (SELECT count(*) FROM tickets WHERE service_day = :today AND status = 'waiting'),"
            " (SELECT count(*) FROM queue_events),"
            " (SELECT min(service_day) FROM tickets)"
        ),
        {"today": hospital.today},
    ).one()

    assert counts[0] == DEPARTMENTS * (HISTORY_DAYS * HISTORY_PER_DAY + LIVE_TICKETS)
    assert counts[1] == DEPARTMENTS * LIVE_WAITING
    assert counts[2] > 3 * counts[0]
    assert (hospital.today - counts[3]).days == HISTORY_DAYS


# ---------------------------------------------------------------- the plans


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any


@contextmanager
def recorded_statements() -> Iterator[list[Statement]]:
    """Every statement the app sends to the database inside the block, with its parameters."""
    statements: list[Statement] = []

    def record(
        connection: Any,
        cursor: Any,
        sql: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if not executemany:
            statements.append(Statement(sql, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def seq_scans(plan: dict[str, Any]) -> list[str]:
    """The watched tables a plan reads by a sequential scan, anywhere in its tree."""
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in WATCHED:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found.extend(seq_scans(child))
    return found


def rows_read(plan: dict[str, Any]) -> int:
    """How many rows of the watched tables an executed plan looked at: those it kept and those
    its filters threw away, over every loop (index nodes are counted at their table's scan)."""
    total = 0
    if plan.get("Relation Name") in WATCHED:
        looked_at = (
            plan.get("Actual Rows", 0)
            + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)
        )
        total += looked_at * plan.get("Actual Loops", 1)
    for child in plan.get("Plans", []):
        total += rows_read(child)
    return total


def plan_of(statement: Statement) -> dict[str, Any]:
    """The plan of the statement with its own parameters. A read is run too (EXPLAIN ANALYZE,
    inside the test's transaction) to count the rows it looks at; a write is only planned."""
    options = "ANALYZE, FORMAT JSON" if _QUERIES.match(statement.sql) else "FORMAT JSON"
    raw = (
        db.session.connection()
        .exec_driver_sql(f"EXPLAIN ({options}) {statement.sql}", statement.parameters)
        .scalar_one()
    )
    document = json.loads(raw) if isinstance(raw, str) else raw
    return dict(document[0]["Plan"])


def assert_reads_use_indexes(statements: list[Statement]) -> None:
    """EXPLAIN every recorded statement on the watched tables: none may scan one sequentially,
    and none may look at more rows than the live day holds (an index that still walks through
    a department's history, such as one on the department alone, would)."""
    reads = [
        statement
        for statement in statements
        if _STATEMENTS.match(statement.sql) and _WATCHED_NAME.search(statement.sql)
    ]
    assert reads, "the path read neither tickets nor queue_events: nothing was checked"
    offenders = []
    for statement in reads:
        plan = plan_of(statement)
        tables = seq_scans(plan)
        looked_at = rows_read(plan)
        if tables or looked_at > MAX_ROWS_READ:
            problem = (
                f"Seq Scan on {', '.join(sorted(set(tables)))}"
                if tables
                else f"{looked_at} rows looked at (at most {MAX_ROWS_READ})"
            )
            offenders.append(
                f"{problem}:\n{statement.sql}\n"
                f"parameters: {statement.parameters}\nplan: {json.dumps(plan, indent=1)[:3000]}"
            )
    assert not offenders, "\n\n".join(offenders)


def _department(hospital: Hospital) -> Department:
    department = db.session.get(Department, hospital.department_id)
    assert department is not None
    return department


def _clinician(hospital: Hospital, which: int = 0) -> User:
    user = db.session.get(User, hospital.clinician_ids[which])
    assert user is not None
    return user


# Each hot path: the real service call, with a check that it did the work it is named for
# (so a path that silently read nothing cannot pass).
def _board_queue(hospital: Hospital) -> None:
    queue = state.queue_state(hospital.department_id)
    assert len(queue.waiting) == LIVE_WAITING
    assert [entry.position for entry in queue.waiting[:2]] == [1, 2]


def _call_next(hospital: Hospital) -> None:
    ticket = moves.call_next(
        service_point_id=hospital.free_point_ids[0], actor=_clinician(hospital)
    )
    assert ticket is not None and ticket.status == "called"


def _typical_visit(hospital: Hospital) -> None:
    minutes = state.typical_visit_minutes(_department(hospital), hospital.today)
    assert minutes != float(_department(hospital).default_service_minutes)


def _recent_calls(hospital: Hospital) -> None:
    calls = state.recent_calls(_department(hospital))
    assert len(calls) == state.RECENT_CALLS


def _count_waiting(hospital: Hospital) -> None:
    assert state.count_waiting(hospital.department_id) == LIVE_WAITING


def _ticket_page(hospital: Hospital) -> None:
    ticket = state.latest_ticket_for_token(hospital.waiting_token)
    assert state.position_of(ticket) is not None


def _serving_ticket(hospital: Hospital) -> None:
    for point_id in (hospital.called_point_id, hospital.serving_point_id):
        point = moves._service_point(point_id)
        assert state.serving_ticket(point) is not None


def _check_in(hospital: Hospital) -> None:
    ticket = moves.check_in(
        actor=None, patient_id=hospital.new_patient_id, department_id=hospital.department_id
    )
    assert ticket.estimated_wait_at_check_in is not None


def _complete(hospital: Hospital) -> None:
    ticket = moves.apply_move(hospital.in_service_ticket_id, "complete", actor=_clinician(hospital))
    assert ticket.status == "completed"


SERVICE_PATHS: dict[str, Callable[[Hospital], None]] = {
    "queue_state": _board_queue,
    "call_next": _call_next,
    "typical_visit_minutes": _typical_visit,
    "recent_calls": _recent_calls,
    "count_waiting": _count_waiting,
    "latest_ticket_for_token": _ticket_page,
    "serving_ticket": _serving_ticket,
    "check_in": _check_in,
    "complete": _complete,
}


@pytest.mark.parametrize("path", SERVICE_PATHS)
def test_the_hot_path_reads_tickets_and_events_through_indexes(
    hospital: Hospital, path: str
) -> None:
    try:
        with recorded_statements() as statements:
            SERVICE_PATHS[path](hospital)
        assert_reads_use_indexes(statements)
    finally:
        db.session.rollback()  # each path sees the same live day


# ------------------------------------------------------------------ the screens


def _signed_in(client: FlaskClient, user_id: int) -> FlaskClient:
    user = db.session.get(User, user_id)
    assert user is not None
    sign_in(client, user)
    return client


def _display_poll(client: FlaskClient, hospital: Hospital) -> int:
    return client.get(f"/display/{hospital.department_code}/state.json").status_code


def _ticket_poll(client: FlaskClient, hospital: Hospital) -> int:
    return client.get(f"/t/{hospital.waiting_token}/status").status_code


def _board_poll(client: FlaskClient, hospital: Hospital) -> int:
    return client.get(f"/queue/board-partial?department_id={hospital.department_id}").status_code


def _workstation_poll(client: FlaskClient, hospital: Hospital) -> int:
    return client.get("/workstation/live").status_code


def _workstation_call_next(client: FlaskClient, hospital: Hospital) -> int:
    return client.post("/workstation/call-next").status_code


# (the request, its expected status, who signs in first: None, "receptionist", "clinician")
SCREEN_PATHS: dict[str, tuple[Callable[[FlaskClient, Hospital], int], int, str | None]] = {
    "display state.json": (_display_poll, 200, None),
    "ticket page poll": (_ticket_poll, 200, None),
    "board poll": (_board_poll, 200, "receptionist"),
    "workstation poll": (_workstation_poll, 200, "clinician"),
    "workstation call-next": (_workstation_call_next, 302, "clinician"),
}


@pytest.mark.parametrize("path", SCREEN_PATHS)
def test_the_screens_read_tickets_and_events_through_indexes(
    history_app: Flask, hospital: Hospital, path: str
) -> None:
    request, expected_status, who = SCREEN_PATHS[path]
    client = history_app.test_client()
    if who == "receptionist":
        _signed_in(client, hospital.receptionist_id)
    elif who == "clinician":
        # The second clinician at the last free room: the service tests keep the first room.
        _signed_in(client, hospital.clinician_ids[1])
        with client.session_transaction() as session:
            session[SESSION_POINT] = hospital.free_point_ids[1]
    try:
        with recorded_statements() as statements:
            assert request(client, hospital) == expected_status
        assert_reads_use_indexes(statements)
    finally:
        db.session.rollback()

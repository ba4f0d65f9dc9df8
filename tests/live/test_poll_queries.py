"""What the polls cost: an unchanged poll answers from the queue versions alone (one primary-key
query embedded, none with Redis, besides a signed-in user's session check); a changed one costs
the same however long the queue; a changed state is rendered once, by one process, however many
screens ask; and Redis down never stops a poll answering from the table."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, update

from tests.conftest import make_app, reset_postgres_schema, running_app, sign_in
from tests.factories import DepartmentFactory, PatientFactory, ServicePointFactory, UserFactory
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.live import renders
from webapp.queue.models import Ticket
from webapp.queue.moves import check_in

# SQLite's BEGIN IMMEDIATE (the app's begin hook) is transaction control, not a query.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture(params=["embedded", "redis"])
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test of this module runs without Redis and with it (skipped without TEST_REDIS_URL)."""
    if request.param == "embedded":
        return {}
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return {"REDIS_URL": url}


@pytest.fixture
def version_reads(app: Flask) -> int:
    """What reading the versions costs in SQL: one query embedded, none with Redis."""
    return 0 if app.config.get("REDIS_URL") else 1


@contextmanager
def queries() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen.append(statement)

    # The test and its requests share one session: start each measured request from an empty
    # one, as a server's request does, so nothing the test loaded saves a query.
    db.session.close()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _department(code: str, waiting: int) -> tuple[int, int]:
    """A department with a room and ``waiting`` patients checked in; (department id, room id)."""
    department = DepartmentFactory(code=code, name=f"Department {code}")
    room = ServicePointFactory(department=department, name="Room 1")
    db.session.commit()
    _check_in(department.id, waiting)
    return department.id, room.id


def _check_in(department_id: int, count: int) -> list[Ticket]:
    tickets = [
        check_in(actor=None, patient_id=PatientFactory().id, department_id=department_id)
        for _ in range(count)
    ]
    db.session.commit()
    return tickets


@pytest.fixture
def gm(app: Flask) -> Iterator[tuple[int, int]]:
    yield _department("GM", 3)
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


def _version_in(response_text: str) -> str:
    match = re.search(r'data-version="([^"]+)"', response_text)
    assert match is not None
    return match[1]


# ------------------------------------------------------------------ unchanged polls


def test_an_unchanged_display_poll_reads_only_the_versions(
    client: FlaskClient, gm: tuple[int, int], version_reads: int
) -> None:
    first = client.get("/display/GM/state.json")
    assert first.status_code == 200
    etag = first.headers["ETag"]

    with queries() as seen:
        again = client.get("/display/GM/state.json", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.headers["ETag"] == etag
    assert len(seen) == version_reads, seen


def test_an_unchanged_ticket_page_poll_reads_only_the_versions(
    client: FlaskClient, gm: tuple[int, int], version_reads: int
) -> None:
    token = _check_in(gm[0], 1)[0].status_token
    first = client.get(f"/t/{token}/status")
    assert first.status_code == 200
    etag = first.headers["ETag"]

    with queries() as seen:
        again = client.get(f"/t/{token}/status", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert len(seen) == version_reads, seen


def _session_check_cost(client: FlaskClient, refused_url: str) -> int:
    """The queries of a signed-in request that only checks the session (then refuses the role)."""
    with queries() as seen:
        assert client.get(refused_url).status_code == 403
    return len(seen)


def test_an_unchanged_board_poll_costs_the_session_check_and_the_versions(
    as_receptionist: FlaskClient, gm: tuple[int, int], version_reads: int
) -> None:
    session_check = _session_check_cost(as_receptionist, "/workstation/live")
    # One read of the session row with its user; the user is not read again after commit.
    assert session_check == 1
    version = _version_in(as_receptionist.get("/queue/board-partial").get_data(as_text=True))

    for filter_ in ({}, {"department_id": gm[0]}):
        if filter_:
            shown = as_receptionist.get("/queue/board-partial", query_string=filter_)
            version = _version_in(shown.get_data(as_text=True))
        with queries() as seen:
            again = as_receptionist.get(
                "/queue/board-partial", query_string={**filter_, "version": version}
            )
        assert again.status_code == 204
        assert len(seen) == session_check + version_reads, seen


def test_an_unchanged_workstation_poll_costs_the_session_check_and_the_versions(
    as_clinician: FlaskClient, gm: tuple[int, int], version_reads: int
) -> None:
    session_check = _session_check_cost(as_clinician, "/queue/patient-search")
    chosen = as_clinician.post("/workstation/service-point", data={"service_point_id": gm[1]})
    assert chosen.status_code == 302
    version = _version_in(as_clinician.get("/workstation/live").get_data(as_text=True))

    with queries() as seen:
        again = as_clinician.get("/workstation/live", query_string={"version": version})

    assert again.status_code == 204
    assert len(seen) == session_check + version_reads, seen


# ------------------------------------------------------------------ changed polls


@pytest.fixture
def short_and_long(app: Flask) -> Iterator[dict[int, tuple[int, int]]]:
    """Two departments, SHRT with 3 patients waiting and LONG with 30: {waiting: (id, room)}."""
    yield {3: _department("SHRT", 3), 30: _department("LONG", 30)}
    db.session.rollback()
    db.session.execute(update(Ticket).values(transferred_from_id=None))
    db.session.commit()


CODES = {3: "SHRT", 30: "LONG"}


def test_a_changed_display_poll_costs_the_same_however_long_the_queue(
    client: FlaskClient, short_and_long: dict[int, tuple[int, int]]
) -> None:
    client.get("/display/SHRT/state.json")  # whatever a first request loads once
    counts = {}
    for waiting, (department_id, _room) in short_and_long.items():
        stale = client.get(f"/display/{CODES[waiting]}/state.json").headers["ETag"]
        _check_in(department_id, 1)
        with queries() as seen:
            changed = client.get(
                f"/display/{CODES[waiting]}/state.json", headers={"If-None-Match": stale}
            )
        assert changed.status_code == 200 and changed.headers["ETag"] != stale
        assert changed.json is not None
        assert f'waiting-count">{waiting + 1}<' in changed.json["html"]
        counts[waiting] = len(seen)
    assert counts[3] == counts[30], counts


def test_a_changed_ticket_page_poll_costs_the_same_however_long_the_queue(
    client: FlaskClient, short_and_long: dict[int, tuple[int, int]]
) -> None:
    counts = {}
    for waiting, (department_id, _room) in short_and_long.items():
        token = _check_in(department_id, 1)[0].status_token
        client.get(f"/t/{token}/status")
        stale = client.get(f"/t/{token}/status").headers["ETag"]
        _check_in(department_id, 1)
        with queries() as seen:
            changed = client.get(f"/t/{token}/status", headers={"If-None-Match": stale})
        assert changed.status_code == 200 and changed.headers["ETag"] != stale
        counts[waiting] = len(seen)
    assert counts[3] == counts[30], counts


def test_a_changed_board_render_costs_the_same_however_long_the_queue(
    as_receptionist: FlaskClient, short_and_long: dict[int, tuple[int, int]]
) -> None:
    as_receptionist.get("/queue/board-partial")
    counts = {}
    for waiting, (department_id, _room) in short_and_long.items():
        _check_in(department_id, 1)
        with queries() as seen:
            rows = as_receptionist.get(
                "/queue/board-partial", query_string={"department_id": department_id}
            )
        assert rows.status_code == 200
        assert rows.get_data(as_text=True).count('class="waiting-row') == waiting + 1
        counts[waiting] = len(seen)
    assert counts[3] == counts[30], counts


def test_call_next_costs_the_same_however_long_the_queue(
    as_clinician: FlaskClient, short_and_long: dict[int, tuple[int, int]]
) -> None:
    # A call sends "your turn is near" to a ticket it brings within NEAR_TURN_AHEAD (3) of the
    # front: a fixed cost, which a queue of 3 (2 left, all told already) would not pay. Two
    # more make the short queue one the call brings someone near in too.
    _check_in(short_and_long[3][0], 2)
    counts = {}
    for waiting, (_department_id, room_id) in short_and_long.items():
        chosen = as_clinician.post("/workstation/service-point", data={"service_point_id": room_id})
        assert chosen.status_code == 302
        with queries() as seen:
            called = as_clinician.post("/workstation/call-next")
        assert called.status_code == 302
        counts[waiting] = len(seen)
    assert counts[3] == counts[30], counts


# ------------------------------------------------------------------ one render per change


def test_four_hundred_polls_of_one_change_render_it_once(
    client: FlaskClient, gm: tuple[int, int]
) -> None:
    stale = client.get("/display/GM/state.json").headers["ETag"]
    _check_in(gm[0], 1)
    before = renders_made_now()
    answers = {
        client.get("/display/GM/state.json", headers={"If-None-Match": stale}).get_data(
            as_text=True
        )
        for _ in range(400)
    }
    assert renders_made_now() - before == 1
    # The same render each time, except the clock spliced into each answer.
    assert len({re.sub(r'"now": "[^"]*"', "", answer) for answer in answers}) == 1


def renders_made_now() -> int:
    return renders.renders_made["display"]


def test_two_apps_on_one_redis_render_once_between_them(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    apps = [make_app(REDIS_URL=redis_url), make_app(REDIS_URL=redis_url)]
    made: list[str] = []
    answers: list[str] = []
    start = threading.Barrier(len(apps))

    def render() -> str:
        made.append("rendered")
        time.sleep(0.2)  # long enough that the other app asks while this one renders
        return "<p>the state</p>"

    def ask(app: Flask) -> None:
        with app.app_context():
            start.wait()
            answers.append(renders.shared("display", "20261201.1-1.5", render))

    threads = [threading.Thread(target=ask, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert made == ["rendered"]
    assert answers == ["<p>the state</p>"] * 2
    # A third process, later, takes it from Redis too.
    with make_app(REDIS_URL=redis_url).app_context():
        assert renders.shared("display", "20261201.1-1.5", render) == "<p>the state</p>"
    assert made == ["rendered"]


@pytest.fixture
def two_servers(postgres_url: str, redis_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two app instances (two server processes, as far as renders go) on one PostgreSQL
    database and one Redis, with department GM and two patients waiting."""
    from flask_migrate import upgrade

    reset_postgres_schema(postgres_url)
    redis.Redis.from_url(redis_url).flushdb()
    config = {"SQLALCHEMY_DATABASE_URI": postgres_url, "REDIS_URL": redis_url}
    servers = (make_app(**config), make_app(**config))
    with servers[0].app_context():
        upgrade()
        _department("GM", 2)
        db.session.remove()
    yield servers
    for server in servers:
        with server.app_context():
            db.engine.dispose()


@pytest.mark.postgres
def test_two_servers_on_one_redis_render_a_change_once_between_them(
    two_servers: tuple[Flask, Flask],
) -> None:
    clients = [server.test_client() for server in two_servers]
    stale = clients[0].get("/display/GM/state.json").headers["ETag"]
    with two_servers[1].app_context():
        department_id = db.session.scalar(db.select(Department.id).where(Department.code == "GM"))
        assert department_id is not None
        _check_in(department_id, 1)
        db.session.remove()

    before = renders_made_now()
    answers = [
        client.get("/display/GM/state.json", headers={"If-None-Match": stale})
        for _ in range(20)
        for client in clients
    ]
    assert renders_made_now() - before == 1
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.headers["ETag"] for answer in answers}) == 1
    assert all(
        answer.json is not None and 'waiting-count">3<' in answer.json["html"] for answer in answers
    )
    # And each server answers the new stamp with a 304 from Redis alone.
    fresh = answers[0].headers["ETag"]
    for client in clients:
        assert (
            client.get("/display/GM/state.json", headers={"If-None-Match": fresh}).status_code
            == 304
        )


# ------------------------------------------------------------------ Redis down


@pytest.fixture
def app_without_redis() -> Iterator[Flask]:
    yield from running_app(REDIS_URL="redis://127.0.0.1:1/0")


def test_polls_answer_from_the_table_while_redis_is_unreachable(
    app_without_redis: Flask,
) -> None:
    department_id, room_id = _department("GM", 2)
    token = db.session.scalars(
        db.select(Ticket.status_token).where(Ticket.department_id == department_id)
    ).first()
    client = app_without_redis.test_client()

    display = client.get("/display/GM/state.json")
    ticket = client.get(f"/t/{token}/status")
    assert display.status_code == 200 and ticket.status_code == 200
    unchanged = client.get(
        "/display/GM/state.json", headers={"If-None-Match": display.headers["ETag"]}
    )
    assert unchanged.status_code == 304
    assert (
        client.get(
            f"/t/{token}/status", headers={"If-None-Match": ticket.headers["ETag"]}
        ).status_code
        == 304
    )

    _check_in(department_id, 1)
    changed = client.get(
        "/display/GM/state.json", headers={"If-None-Match": display.headers["ETag"]}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != display.headers["ETag"]
    assert changed.json is not None and 'waiting-count">3<' in changed.json["html"]

    clinician = UserFactory(role="clinician", username="colin")
    db.session.commit()
    staff = app_without_redis.test_client()
    sign_in(staff, clinician)
    assert (
        staff.post("/workstation/service-point", data={"service_point_id": room_id}).status_code
        == 302
    )
    live = staff.get("/workstation/live")
    version = _version_in(live.get_data(as_text=True))
    assert staff.get("/workstation/live", query_string={"version": version}).status_code == 204
    assert staff.post("/workstation/call-next").status_code == 302
    assert staff.get("/workstation/live", query_string={"version": version}).status_code == 200
    called = client.get(
        "/display/GM/state.json", headers={"If-None-Match": changed.headers["ETag"]}
    )
    assert called.status_code == 200 and called.json is not None and called.json["calls"]

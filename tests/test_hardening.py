"""Hardening found by trying to break the app: body limits, NUL, former 500s, hosts, outages.

Each section names the behaviour it guards; the former 500s are parametrised
over every page that had them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.conftest import make_app, running_app, sign_in
from tests.factories import DepartmentFactory, UserFactory
from tests.hung_server import hung_server
from tests.public_screens import check_in_patient
from webapp.extensions import db, limiter
from webapp.links import NoPublicAddress, public_url_for


class ExplodingStream(io.RawIOBase):
    """A request body of ``size`` bytes that fails the test if anything reads it."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        # The test client measures the body by seeking to its end; only reading fails.
        self.position = self.size + offset if whence == io.SEEK_END else offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the request body was read")


def _api_token(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/login", json={"username": username, "password": "correct horse battery"}
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


# ------------------------------------------------------------ body size (413)


@pytest.fixture
def small_limit_app() -> Iterator[Flask]:
    yield from running_app(MAX_CONTENT_LENGTH=1000)


def test_it_limits_bodies_to_one_megabyte_by_default(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_a_page_refuses_a_body_over_the_limit_before_reading_it(small_limit_app: Flask) -> None:
    response = small_limit_app.test_client().post(
        "/login",
        input_stream=ExplodingStream(5000),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "larger than the limit of 1000 bytes" in response.get_data(as_text=True)


def test_the_api_refuses_a_body_over_the_limit_with_the_envelope(small_limit_app: Flask) -> None:
    response = small_limit_app.test_client().post(
        "/api/v1/auth/login",
        input_stream=ExplodingStream(5000),
        content_type="application/json",
    )

    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert "1000 bytes" in error["message"]


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/login"])
def test_a_chunked_body_over_the_limit_is_refused(small_limit_app: Flask, path: str) -> None:
    # Werkzeug alone would hand over the first 1000 bytes as if they were the whole body.
    body = b'{"username": "' + b"a" * 5000 + b'", "password": "x"}'
    response = small_limit_app.test_client().post(
        path,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413


def test_a_body_within_the_limit_is_served(small_limit_app: Flask) -> None:
    response = small_limit_app.test_client().post(
        "/login", data={"username": "nobody", "password": "wrong"}
    )

    assert response.status_code == 200


# ---------------------------------------------------------------- NUL characters


def test_a_page_never_reads_a_body_just_to_look_for_nul(client: FlaskClient) -> None:
    # Not a form: the sign-in view never parses it, so nothing may read it at all.
    response = client.post("/login", input_stream=ExplodingStream(100), content_type="text/plain")

    assert response.status_code < 500
    assert "Sign in" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ada\u0000", "password": "x"},
        {"username": "ada", "password": "x", "nested": [{"deep": ["\u0000"]}]},
        {"username": "ada", "password": "x", "key\u0000": 1},
    ],
    ids=["value", "nested", "key"],
)
def test_the_api_refuses_nul_anywhere_in_parsed_json(client: FlaskClient, body: Any) -> None:
    response = client.post("/api/v1/auth/login", json=body)

    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Text may not contain NUL characters."


def test_nul_in_a_form_or_a_query_string_is_still_refused(client: FlaskClient) -> None:
    assert client.post("/login", data={"username": "a\x00", "password": "x"}).status_code == 400
    assert client.get("/login?next=%00").status_code == 400
    assert client.get("/api/v1/departments?x=%00").get_json()["error"]["code"] == "bad_request"


def test_an_escaped_backslash_u0000_that_is_not_nul_is_accepted(client: FlaskClient) -> None:
    # The JSON text \\u0000 is a backslash and "u0000": the old raw-body check refused it.
    response = client.post(
        "/api/v1/auth/login", json={"username": "\\u0000", "password": "wrong password"}
    )

    assert response.status_code == 401


# ----------------------------------------------------------------- former 500s

HUGE_PAGES = [str(2**64), "9" * 30, "9" * 5000]


@pytest.mark.parametrize("page", HUGE_PAGES, ids=["2**64", "30 digits", "5000 digits"])
@pytest.mark.parametrize("path", ["/patients", "/admin/audit"])
def test_a_page_number_beyond_64_bits_is_not_found(
    as_admin: FlaskClient, path: str, page: str
) -> None:
    response = as_admin.get(f"{path}?page={page}")

    assert response.status_code == 404
    assert "There is no such page" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/patients", "/admin/audit"])
def test_ordinary_page_numbers_still_work(as_admin: FlaskClient, path: str) -> None:
    for page in ("1", "2", "-3", "abc", "1000000"):
        assert as_admin.get(f"{path}?page={page}").status_code == 200, page


def test_the_api_refuses_a_page_beyond_64_bits_as_invalid(client: FlaskClient, admin: Any) -> None:
    response = client.get(
        f"/api/v1/patients?page={2**64}", headers=_api_token(client, admin.username)
    )

    assert response.status_code == 422


BLANK_IDS = [
    "/appointments?department_id=%20",
    "/appointments?clinician_id=%20",
    "/appointments?department_id=%20&clinician_id=%09&date=",
    "/admin/audit?user_id=%20",
    "/admin/audit?action=%20",
    "/appointments/day?department_id=%20",
    "/appointments/new?department_id=%20&clinician_id=%20&patient_id=%20",
    "/appointments/patient-options?patient_id=%20",
    "/queue?department_id=%20",
]


@pytest.mark.parametrize("url", BLANK_IDS)
def test_a_blank_id_in_a_filter_means_any(as_admin: FlaskClient, url: str) -> None:
    DepartmentFactory(code="GM")
    db.session.commit()

    response = as_admin.get(url)

    assert response.status_code == 200


DATE_FILTERS = [
    "/appointments?date={day}",
    "/appointments/day?date={day}",
    "/admin/audit?date_from={day}",
    "/admin/audit?date_to={day}",
    "/admin/audit?date_from={day}&date_to={day}",
]


@pytest.fixture
def app_config() -> dict[str, Any]:
    # A zone east of UTC: the first day of year 1 starts before the first UTC instant.
    return {"HOSPITAL_TIMEZONE": "Asia/Tokyo"}


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize("url", DATE_FILTERS)
def test_a_date_at_the_end_of_the_calendar_is_a_form_error(
    as_admin: FlaskClient, url: str, day: str
) -> None:
    DepartmentFactory(code="GM")
    db.session.commit()

    response = as_admin.get(url.format(day=day))

    assert response.status_code == 422
    assert "between the years 2 and 9000" in response.get_data(as_text=True)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_api_date_filter_refuses_the_end_of_the_calendar(
    client: FlaskClient, admin: Any, day: str
) -> None:
    response = client.get(
        f"/api/v1/appointments?date={day}", headers=_api_token(client, admin.username)
    )

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


# ------------------------------------------------------------- database logging


def test_the_engine_never_logs_query_parameters(app: Flask) -> None:
    assert db.engine.hide_parameters is True
    assert db.engine.pool._pre_ping is True
    UserFactory(username="first")
    db.session.commit()
    secret = "Patient Name That Must Not Leak"
    db.session.add(
        UserFactory.build(username="first", full_name=secret, password_hash="x", role="admin")
    )

    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    db.session.rollback()

    assert secret not in str(caught.value)
    assert "parameters hidden" in str(caught.value)


# -------------------------------------------------------------- database down

CLOSED_PORT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:9/unreachable"


@pytest.fixture
def down_client() -> FlaskClient:
    """The app pointed at a PostgreSQL that refuses connections (nothing listens on port 9)."""
    return make_app(SQLALCHEMY_DATABASE_URI=CLOSED_PORT_DATABASE).test_client()


def test_the_api_answers_503_unavailable_while_the_database_is_down(
    down_client: FlaskClient,
) -> None:
    response = down_client.post("/api/v1/auth/login", json={"username": "a", "password": "b"})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["error"]["code"] == "unavailable"


def test_the_display_state_answers_json_while_the_database_is_down(
    down_client: FlaskClient,
) -> None:
    response = down_client.get("/display/GM/state.json")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["status"] == "unavailable"


@pytest.mark.parametrize("path", ["/display/GM", "/t/" + "a" * 32])
def test_a_public_page_is_a_friendly_503_while_the_database_is_down(
    down_client: FlaskClient, path: str
) -> None:
    response = down_client.get(path)

    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert "cannot reach its database" in response.get_data(as_text=True)


def test_readiness_reports_the_database_down(down_client: FlaskClient) -> None:
    response = down_client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["down"] == ["database"]


@pytest.fixture
def database_goes_down(app: Flask) -> Iterator[None]:
    """From now on every statement fails as on a dropped connection."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("SELECT", {}, ConnectionError("server closed the connection"))

    event.listen(db.engine, "before_cursor_execute", refuse)
    db.session.remove()
    yield
    event.remove(db.engine, "before_cursor_execute", refuse)
    db.session.remove()


@pytest.mark.parametrize("path", ["/", "/patients", "/queue", "/admin/audit"])
def test_a_signed_in_page_is_a_friendly_503_while_the_database_is_down(
    as_admin: FlaskClient, database_goes_down: None, path: str
) -> None:
    response = as_admin.get(path)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "cannot reach its database" in response.get_data(as_text=True)


def test_the_api_is_503_when_the_connection_drops_mid_request(
    client: FlaskClient, admin: Any, database_goes_down: None
) -> None:
    response = client.get("/api/v1/departments", headers={"Authorization": "Bearer x.y.z"})

    assert response.status_code in (401, 503)  # a malformed token needs no database
    response = client.post("/api/v1/auth/login", json={"username": "ada", "password": "pw"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"


def test_an_integrity_error_is_still_a_500_not_a_503(app: Flask, client: FlaskClient) -> None:
    @app.get("/__integrity")
    def integrity() -> str:
        raise IntegrityError("INSERT", {}, ValueError("duplicate"))

    app.logger.disabled = True
    assert client.get("/__integrity").status_code == 500


# ------------------------------------------------------------------ hosts


@pytest.mark.parametrize("path", ["/login", "/display/GM", "/t/" + "a" * 32])
def test_a_forged_host_gets_400_on_a_page(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"})

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "does not answer to that host name" in response.get_data(as_text=True)


def test_a_forged_host_gets_400_with_the_envelope_on_the_api(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/login",
        json={"username": "a", "password": "b"},
        headers={"Host": "evil.example"},
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_answer_under_any_host(client: FlaskClient, path: str) -> None:
    assert client.get(path, headers={"Host": "10.0.0.7:8000"}).status_code == 200


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:5000", "127.0.0.1", "127.8.9.10:8000", "[::1]", "[::1]:80"]
)
def test_loopback_hosts_are_served_without_a_public_address(client: FlaskClient, host: str) -> None:
    assert client.get("/login", headers={"Host": host}).status_code == 200


PUBLIC = "https://queue.example.org/hq"


@pytest.fixture
def public_app() -> Iterator[Flask]:
    yield from running_app(PUBLIC_BASE_URL=PUBLIC)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("queue.example.org", 200),
        ("QUEUE.example.org:443", 200),
        ("localhost:8000", 200),
        ("evil.example", 400),
        ("queue.example.org.evil.example", 400),
    ],
)
def test_with_a_public_address_its_host_and_loopback_are_served(
    public_app: Flask, host: str, status: int
) -> None:
    response = public_app.test_client().get("/login", headers={"Host": host})

    assert response.status_code == status


def test_the_printed_ticket_links_to_the_public_address(public_app: Flask) -> None:
    department = DepartmentFactory(code="GM")
    desk = UserFactory(username="desk", role="receptionist")
    db.session.commit()
    ticket = check_in_patient(department)
    client = public_app.test_client()
    sign_in(client, desk)

    page = client.get(f"/tickets/{ticket.id}/print")  # Host: localhost

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"{PUBLIC}/t/{ticket.status_token}" in html
    assert "//localhost" not in html


def test_public_links_come_from_the_public_address_whatever_the_host(public_app: Flask) -> None:
    with public_app.test_request_context("/", base_url="http://evil.example"):
        url = public_url_for("tickets.status", token="abc")

    assert url == f"{PUBLIC}/t/abc"


def test_public_links_need_no_request_with_a_public_address(public_app: Flask) -> None:
    assert public_url_for("tickets.status", token="abc") == f"{PUBLIC}/t/abc"


def test_without_a_public_address_links_use_the_loopback_host(app: Flask) -> None:
    with app.test_request_context("/", base_url="http://127.0.0.1:5000"):
        assert public_url_for("tickets.status", token="abc") == "http://127.0.0.1:5000/t/abc"


def test_without_a_public_address_no_link_is_built_from_another_host(app: Flask) -> None:
    with (
        app.test_request_context("/", base_url="http://evil.example"),
        pytest.raises(NoPublicAddress),
    ):
        public_url_for("tickets.status", token="abc")
    with pytest.raises(NoPublicAddress):
        public_url_for("tickets.status", token="abc")  # no request, no public address


# ------------------------------------------------------------- a hung Redis

BOUND_SECONDS = 5  # guards a hang: without socket timeouts these calls never return


def _within_bound(call: Callable[[], Any]) -> Any:
    """``call()`` in a thread; fail (instead of hanging the run) if it does not return in time."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(call)
        try:
            return future.result(timeout=BOUND_SECONDS)
        except FutureTimeout:
            pytest.fail(f"no answer within {BOUND_SECONDS} seconds while Redis hangs")
        finally:
            pool.shutdown(wait=False)


@pytest.fixture
def hung_redis_app() -> Iterator[Flask]:
    """Redis for the rate limits and the readiness probe accepts connections and never answers.

    The limiter's socket options come from the settings, as in production.
    """
    with hung_server() as url:
        yield from running_app(REDIS_URL=url, RATELIMIT_STORAGE_URI=url)
    limiter._storage_dead = False  # the limiter is shared by every app of the test run


def test_it_gives_every_redis_client_short_timeouts(hung_redis_app: Flask) -> None:
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}
    assert hung_redis_app.config["REDIS_CLIENT_OPTIONS"] == options
    assert hung_redis_app.config["RATELIMIT_STORAGE_OPTIONS"] == options


def test_a_sign_in_answers_when_redis_hangs(hung_redis_app: Flask) -> None:
    UserFactory(username="rosa", role="receptionist")
    db.session.commit()
    client = hung_redis_app.test_client()

    wrong = _within_bound(
        lambda: client.post("/login", data={"username": "rosa", "password": "wrong"})
    )
    good = _within_bound(
        lambda: client.post(
            "/login", data={"username": "rosa", "password": "correct horse battery"}
        )
    )

    assert wrong.status_code == 200  # the wrong password, answered
    assert good.status_code == 302
    assert limiter._storage_dead is True  # counting in memory until Redis answers again


def test_readiness_reports_a_hung_redis(hung_redis_app: Flask) -> None:
    response = _within_bound(lambda: hung_redis_app.test_client().get("/readyz"))

    assert response.status_code == 503
    assert response.get_json()["down"] == ["redis"]
    assert response.get_json()["checks"]["redis"] == "unavailable: TimeoutError"


@pytest.mark.postgres
def test_it_recovers_by_itself_when_postgresql_drops_its_connections(
    pg_app: Flask, postgres_url: str
) -> None:
    client = pg_app.test_client()
    assert client.get("/display/GM/state.json").status_code == 404  # a pooled connection now
    db.session.remove()
    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:  # what a restart of PostgreSQL does to the pool
        killed = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        assert any(killed)  # the app's pooled connection was among them
    killer.dispose()

    response = client.get("/display/GM/state.json")

    assert response.status_code == 404  # answered on a fresh connection: no 503, no 500

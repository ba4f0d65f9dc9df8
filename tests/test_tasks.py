"""The Huey task queue (webapp/tasks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from huey import RedisHuey
from sqlalchemy import func, select

from tests.factories import UserFactory
from webapp import tasks
from webapp.auth.models import User
from webapp.extensions import db


def _count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def _in_a_worker_thread(function: Any, *args: Any) -> Any:
    """Call ``function`` where no Flask context exists, as the Huey consumer does."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def test_it_runs_tasks_immediately_in_tests(app):
    assert tasks.huey.immediate is True


def test_it_records_a_worker_heartbeat(app):
    before = datetime.now(UTC)

    tasks.record_worker_heartbeat()

    beat = tasks.last_worker_heartbeat()
    assert beat is not None
    assert beat.tzinfo is not None
    assert before - timedelta(seconds=1) <= beat <= datetime.now(UTC)


def test_it_reports_no_heartbeat_when_the_broker_is_down(app, monkeypatch):
    def broken_get(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.huey, "get", broken_get)

    assert tasks.last_worker_heartbeat() is None


def test_it_reports_no_heartbeat_before_a_worker_ran(app, monkeypatch):
    monkeypatch.setattr(tasks.huey, "get", lambda *args, **kwargs: None)

    assert tasks.last_worker_heartbeat() is None


def test_it_runs_a_heartbeat_every_minute():
    task = tasks.record_worker_heartbeat.s()

    for minute in (0, 1, 31, 59):
        assert task.validate_datetime(datetime(2026, 11, 24, 9, minute))


def test_it_binds_the_app_tasks_run_in(app):
    assert tasks._bound_app is app


# --------------------------------------------------------------------------- with_app_context


@pytest.fixture
def app_config(tmp_path) -> dict[str, Any]:
    # A database file: a worker thread uses its own connection, as a real consumer would.
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'tasks.sqlite3'}"}


@tasks.with_app_context
def _add_user(username: str) -> str:
    user = UserFactory(username=username)
    return user.username


@tasks.with_app_context
def _add_user_then_fail(username: str) -> None:
    UserFactory(username=username)
    raise RuntimeError("task failed")


def test_it_keeps_the_wrapped_function_name():
    assert _add_user.__name__ == "_add_user"


def test_it_commits_a_task_run_outside_the_app(app):
    assert _in_a_worker_thread(_add_user, "from-task") == "from-task"

    db.session.rollback()
    assert db.session.scalar(select(User.username)) == "from-task"


def test_it_rolls_back_a_task_that_fails(app):
    with pytest.raises(RuntimeError, match="task failed"):
        _in_a_worker_thread(_add_user_then_fail, "half-done")

    db.session.rollback()
    assert _count_users() == 0


def test_it_runs_in_the_current_app_context_when_there_is_one(app):
    assert _add_user("inline") == "inline"

    assert db.session.scalar(select(User.username)) == "inline"


# --------------------------------------------------------------------------- Redis broker


@pytest.fixture
def redis_huey(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisHuey]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("REDIS_URL", redis_url)
    huey = tasks.make_huey()
    yield huey
    redis.Redis.from_url(redis_url).flushdb()


@pytest.mark.redis
def test_it_uses_redis_as_the_broker_when_configured(redis_huey):
    assert isinstance(redis_huey, RedisHuey)
    assert redis_huey.name == tasks.HUEY_NAME
    assert redis_huey.utc is True


@pytest.mark.redis
def test_it_enqueues_and_runs_a_task_through_redis(redis_huey):
    @redis_huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)

    assert redis_huey.pending_count() == 1
    assert len(redis_huey) == 1
    task = redis_huey.dequeue()
    assert redis_huey.pending_count() == 0
    redis_huey.execute(task)
    assert result.get() == 5


@pytest.mark.redis
def test_it_shares_the_heartbeat_through_redis(redis_huey, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tasks, "huey", redis_huey)
    redis_huey.put(tasks.HEARTBEAT_KEY, datetime.now(UTC).isoformat())

    beat = tasks.last_worker_heartbeat()

    assert beat is not None
    assert datetime.now(UTC) - beat < timedelta(minutes=1)
    assert tasks.last_worker_heartbeat() == beat, "reading the heartbeat must not consume it"


# --------------------------------------------------------------------- a hung Redis


def test_it_reports_no_heartbeat_quickly_when_redis_hangs(app, monkeypatch):
    from tests.hung_server import hung_server

    with hung_server() as url:
        monkeypatch.setattr(tasks, "huey", tasks.make_huey(url))
        with ThreadPoolExecutor(max_workers=1) as pool:
            beat = pool.submit(tasks.last_worker_heartbeat).result(timeout=5)

    assert beat is None


def test_it_gives_the_redis_broker_short_timeouts_and_the_consumer_room_to_wait(monkeypatch):
    monkeypatch.delenv("REDIS_READ_TIMEOUT", raising=False)
    huey = tasks.make_huey("redis://127.0.0.1:9/0")
    kwargs = huey.storage.pool.connection_kwargs
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (0.5, 1.0)
    monkeypatch.setattr(tasks, "huey", huey)

    tasks._allow_blocking_reads()

    # The consumer's blocking dequeue waits read_timeout seconds; its sockets wait longer.
    assert kwargs["socket_timeout"] == huey.storage.read_timeout + 1.0

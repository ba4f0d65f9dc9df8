"""The Huey task queue.

With ``REDIS_URL`` set, tasks go through Redis, so several worker processes on
several hosts share one queue. Without it an SQLite file under ``instance/``
is the embedded broker. Tests run tasks immediately, in-process.

The consumer is started with ``flask --app wsgi worker``; tasks that touch the
database run inside the Flask app bound by :func:`bind_app`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.storage import RedisStorage
from redis import ConnectionPool

from webapp.config import INSTANCE_DIR, redis_client_options

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

HUEY_NAME = "hospital-queue"
HEARTBEAT_KEY = "worker-heartbeat"


def make_huey(redis_url: str | None = None) -> Huey:
    """The queue on Redis at ``redis_url`` (default: REDIS_URL), else on the SQLite file."""
    redis_url = (os.environ.get("REDIS_URL", "") if redis_url is None else redis_url).strip()
    if redis_url:
        # Short socket timeouts (REDIS_CONNECT_TIMEOUT, REDIS_READ_TIMEOUT): a hung Redis
        # fails an enqueue or a heartbeat read quickly, as a stopped one does.
        pool = ConnectionPool.from_url(redis_url, **redis_client_options())
        return RedisHuey(HUEY_NAME, connection_pool=pool, utc=True)
    INSTANCE_DIR.mkdir(exist_ok=True)
    return SqliteHuey(HUEY_NAME, filename=str(INSTANCE_DIR / "huey.sqlite3"), utc=True)


huey = make_huey()
_bound_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Remember the app tasks run in; tests switch the queue to immediate mode."""
    global _bound_app
    _bound_app = app
    if app.config.get("HUEY_IMMEDIATE") or app.config.get("TESTING"):
        huey.immediate = True


def with_app_context(function: F) -> F:
    """Run a task inside the bound Flask app, committing on success and rolling back on error."""

    @wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return function(*args, **kwargs)
        app = _bound_app
        if app is None:
            from webapp import create_app

            app = create_app()
        from webapp.extensions import db

        with app.app_context():
            try:
                result = function(*args, **kwargs)
                db.session.commit()
                return result
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return cast(F, wrapped)


@huey.periodic_task(crontab(minute="*"))
def record_worker_heartbeat() -> None:
    """Leave a timestamp the admin dashboard reads to tell whether a worker is running."""
    huey.put(HEARTBEAT_KEY, datetime.now(UTC).isoformat())


def last_worker_heartbeat() -> datetime | None:
    """When a worker last ran its periodic heartbeat, or None if never (or the broker is down)."""
    try:
        value = huey.get(HEARTBEAT_KEY, peek=True)
    except Exception:  # broker down: report "unknown" instead of failing the page
        log.warning("Could not read the worker heartbeat", exc_info=True)
        return None
    if not value:
        return None
    return datetime.fromisoformat(value)


def _allow_blocking_reads() -> None:
    """Give the consumer's connections room for its blocking dequeue.

    The consumer waits for work with BRPOP for ``read_timeout`` seconds; the
    web side's short socket timeout would cut that wait off and read as an
    error. The consumer's sockets wait that long plus the usual read timeout.
    """
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        read_timeout = redis_client_options()["socket_timeout"]
        storage.pool.connection_kwargs["socket_timeout"] = storage.read_timeout + read_timeout
        storage.pool.disconnect()


def run_worker(workers: int) -> None:
    """Run the consumer in this process, with periodic tasks, until interrupted."""
    app = _bound_app or current_app
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    log.info("Starting %d task worker thread(s) on %s", workers, type(huey.storage).__name__)
    if app is not None:
        huey.immediate = False
    _allow_blocking_reads()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()

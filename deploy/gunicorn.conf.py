"""gunicorn settings for Hospital Queue in production (docs/deployment.md explains each).

    .venv/bin/gunicorn --config deploy/gunicorn.conf.py wsgi:app

Every value can be overridden from the environment (the GUNICORN_* variables below, or
WEB_CONCURRENCY for the number of workers), so one file serves every host.

Why these: the screens poll every few seconds, through nginx. gunicorn's default ``sync``
worker answers every request with ``Connection: close``, so nginx opens a new connection to
the app for each poll (one socket left in TIME_WAIT per request on the nginx host).
``gthread`` workers keep connections alive and park idle ones in a poller instead of a
thread. Measured on 2 cores through nginx with upstream keep-alive: about 10 % more cheap
answers (an unchanged poll, /healthz) than sync workers, the same full renders within the
noise, no connection churn; a longer p99 only when the host is saturated
(docs/deployment.md "Measurements").
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# Two workers per core: a request spends part of its time waiting on PostgreSQL and Redis.
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count())
threads = _int("GUNICORN_THREADS", 4)
# Longer than nginx's upstream keepalive_timeout (60 s by default), so nginx, not gunicorn,
# closes an idle upstream connection: a connection gunicorn closed just as nginx reused it
# would cost that request a 502.
keepalive = _int("GUNICORN_KEEPALIVE", 65)
# A worker silent for this long is killed and replaced (a stuck request, not a slow one: the
# slowest pages answer in well under a second).
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Open connections per worker, idle keep-alive ones included.
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)
# Its own control socket (gunicorn's default path is shared by every gunicorn of the user).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "/run/hospital-queue/gunicorn.ctl")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for standard output
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
# No preload: each worker opens its own database and Redis connections after the fork.
preload_app = False

# One database connection per thread, and two more for a moment of overlap (a request holds
# its connection until it ends). webapp/config.py reads these when each worker starts; set
# them yourself to override.
os.environ.setdefault("DATABASE_POOL_SIZE", str(threads))
os.environ.setdefault("DATABASE_MAX_OVERFLOW", "2")

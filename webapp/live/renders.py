"""Renders shared by every screen and every server process: one render per change, not one
per poll.

A screen's changed state (the display's, a board's rows, a ticket page's fragment) is
rendered once for a given key — which always contains the queue-version stamp it was made
under (see :mod:`webapp.live.versions`) — and kept for ``RENDER_SECONDS``: in Redis when
configured, so every worker on every host shares it, else in this process. When 400
screens ask at once after a call, one request renders; the others wait for its result
(at most ``WAIT_SECONDS``, then render themselves rather than keep a screen waiting).

The rule that keeps a shared render honest: the stamp in its key is read *before* the data
it shows, so a render is never older than its stamp. A change landing in between makes the
render newer than its stamp, and the next poll, seeing a newer stamp, renders again.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from flask import current_app
from redis.exceptions import RedisError as _RedisError

from webapp.live.versions import redis_client

log = logging.getLogger(__name__)

KEY_PREFIX = "hq:live:render:"
RENDER_SECONDS = 120
WAIT_SECONDS = 1.0
LOCAL_ENTRIES = 512

# How many renders each kind has made in this process (the tests count them).
renders_made: Counter[str] = Counter()

# Requests for the same key in one process render one at a time (striped locks: bounded).
# Re-entrant, because one render may ask for another (a ticket page for its queue's places),
# and never waited on for longer than WAIT_SECONDS: two renders nesting in opposite stripe
# order must not wait on each other for ever, so past that a request renders unshared.
_flights = [threading.RLock() for _ in range(64)]


@contextmanager
def _flight(key: str) -> Iterator[None]:
    lock = _flights[zlib.crc32(key.encode()) % len(_flights)]
    held = lock.acquire(timeout=WAIT_SECONDS)
    try:
        yield
    finally:
        if held:
            lock.release()


class LocalRenders:
    """The renders of one app in this process (without Redis): the newest ``LOCAL_ENTRIES``."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > LOCAL_ENTRIES:
                self._entries.popitem(last=False)


def _local() -> LocalRenders:
    # Kept on the app, not the module: each app (each test's) has its own database.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store: LocalRenders = app.extensions.setdefault("live_renders", LocalRenders())
    return store


def _redis_get(client: Any, key: str) -> str | None:
    try:
        value = client.get(key)
    except Exception as error:
        log.warning("Shared render not read from Redis (%s); rendering here.", error)
        return None
    return value.decode() if value is not None else None


def _wait_for_other(client: Any, key: str) -> str | None:
    """Wait for the render another process is making; None if it takes too long."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.01)
        value = _redis_get(client, key)
        if value is not None:
            return value
    return None


def shared(kind: str, key: str, render: Callable[[], str]) -> str:
    """The render of ``kind`` for ``key`` (which must contain the version stamp), made by
    ``render`` only if no process has made it yet."""
    full_key = f"{KEY_PREFIX}{kind}:{key}"
    client = redis_client()
    if client is None:
        return _shared_here(kind, full_key, render)
    value = _redis_get(client, full_key)
    if value is not None:
        return value
    with _flight(full_key):
        value = _redis_get(client, full_key)
        if value is not None:
            return value
        lock_key = full_key + ":rendering"
        try:
            leader = bool(client.set(lock_key, b"1", nx=True, px=int(WAIT_SECONDS * 3000)))
        except Exception:
            leader = True
        if not leader:
            value = _wait_for_other(client, full_key)
            if value is not None:
                return value
        try:
            made = render()
        finally:
            if leader:
                _forget(client, lock_key)
        renders_made[kind] += 1
        try:
            client.set(full_key, made.encode(), ex=RENDER_SECONDS)
        except _RedisError as error:
            log.warning("Shared render not stored in Redis (%s).", error)
        return made


def _forget(client: Any, key: str) -> None:
    with suppress(_RedisError):  # it expires by itself
        client.delete(key)


def _shared_here(kind: str, full_key: str, render: Callable[[], str]) -> str:
    store = _local()
    value = store.get(full_key)
    if value is not None:
        return value
    with _flight(full_key):
        value = store.get(full_key)
        if value is None:
            value = render()
            renders_made[kind] += 1
            store.put(full_key, value)
        return value

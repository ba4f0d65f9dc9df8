"""Queue versions: what a poll compares to learn, in one key lookup, that nothing changed.

Every change to what a department's screens show (a move, a check-in, a transfer, the day's
close, a room renamed, a patient renamed, a booking changed) calls :func:`touch` in the
transaction that makes it. Just before that transaction commits, each touched department's
row in ``queue_versions`` is bumped — in department-id order, the last thing the
transaction locks, so two transactions touching the same departments cannot deadlock over
them. A version is a number that only grows: the time of the change in microseconds, or the
previous version plus one when that is larger, so versions also grow across a database
restored from a backup.

After the commit the new versions are copied to Redis (when configured), where a poll reads
them with one MGET and no SQL. Without Redis a poll reads them with one primary-key query.
Redis is a cache of the table, never the truth: a key missing (expired, never written, Redis
restarted) or Redis down sends the reader to the table, which refills the key; keys expire
after ``KEY_SECONDS`` so a copy lost while Redis was unreachable is corrected within that.

A *stamp* names what a screen shows: the service day, the version of the list of
departments, and each shown department's version (``20261201.1733..-5.1733..``). A poll
sends back the stamp of what it shows; :func:`is_current` answers whether it still holds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite

from webapp import clock
from webapp.database import after_commit, before_commit, utcnow
from webapp.extensions import db
from webapp.live.models import DEPARTMENT_LIST, QueueVersion

log = logging.getLogger(__name__)

KEY_PREFIX = "hq:live:version:"
KEY_SECONDS = 15
# Sets the key to the given version when it is missing or holds an older one (two commits may
# copy their versions to Redis in the other order); 0, "never changed", is stored too.
_SET_IF_NEWER = """
local known = redis.call('GET', KEYS[1])
if (not known) or tonumber(ARGV[1]) > tonumber(known) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""
_TOUCHED = "live_touched_departments"


def touch(*department_ids: int | None) -> None:
    """Mark departments as changed in the current transaction: their versions are bumped just
    before it commits (once each, however many changes), and not at all if it rolls back."""
    for department_id in department_ids:
        if department_id is None:
            continue
        # One keyed callback per department, so a savepoint rolled back takes its touches
        # with it; each adds its department to the set one final callback bumps.
        before_commit(f"live-touch:{department_id}", _marker(department_id))


def touch_department_list() -> None:
    """The list of departments changed (one added, renamed, opened or closed)."""
    touch(DEPARTMENT_LIST)


def _marker(department_id: int) -> Any:
    def mark() -> None:
        db.session.info.setdefault(_TOUCHED, set()).add(department_id)
        before_commit("live-bump", _bump_touched)

    return mark


def _bump_touched() -> None:
    department_ids = sorted(db.session.info.pop(_TOUCHED, set()))
    if not department_ids:
        return
    versions = bump(department_ids)
    after_commit(lambda: _publish(versions))


def bump(department_ids: Iterable[int]) -> dict[int, int]:
    """Bump the versions of ``department_ids`` now, in this transaction, in id order; returns
    the new versions. Services call :func:`touch` instead; this is its last step."""
    ids = sorted(set(department_ids))
    now = utcnow()
    floor = int(now.timestamp() * 1_000_000)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(QueueVersion)
        .values([{"department_id": i, "version": floor, "changed_at": now} for i in ids])
        .on_conflict_do_update(
            index_elements=[QueueVersion.department_id],
            set_={
                "version": case(
                    (QueueVersion.version + 1 > floor, QueueVersion.version + 1), else_=floor
                ),
                "changed_at": now,
            },
        )
        .returning(QueueVersion.department_id, QueueVersion.version)
    )
    return {int(row[0]): int(row[1]) for row in db.session.execute(statement)}


# ------------------------------------------------------------------ reading


def redis_client() -> Any | None:
    """The app's Redis client for versions and shared renders, or None without REDIS_URL."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        return None
    client = app.extensions.get("live_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(
            app.config["REDIS_URL"], **(app.config.get("REDIS_CLIENT_OPTIONS") or {})
        )
        app.extensions["live_redis"] = client
    return client


def _publish(versions: dict[int, int]) -> None:
    client = redis_client()
    if client is None or not versions:
        return
    try:
        pipeline = client.pipeline(transaction=False)
        for department_id, version in versions.items():
            pipeline.eval(_SET_IF_NEWER, 1, KEY_PREFIX + str(department_id), version, KEY_SECONDS)
        pipeline.execute()
    except Exception as error:
        # The keys expire within KEY_SECONDS; readers then take the table's versions.
        log.warning(
            "Queue versions not copied to Redis (%s); readers fall back to the table.", error
        )


def current(department_ids: Iterable[int]) -> dict[int, int]:
    """The current versions of ``department_ids`` (0 for one never changed): one Redis MGET
    when every key is there, else one query, whose answers are copied back to Redis."""
    ids = sorted(set(department_ids))
    client = redis_client()
    if client is not None:
        try:
            values = client.mget([KEY_PREFIX + str(i) for i in ids])
        except Exception as error:
            log.warning("Queue versions not read from Redis (%s); reading the table.", error)
            client = None
        else:
            if all(value is not None for value in values):
                return {i: int(value) for i, value in zip(ids, values, strict=True)}
    rows = db.session.execute(
        select(QueueVersion.department_id, QueueVersion.version).where(
            QueueVersion.department_id.in_(ids)
        )
    )
    versions = {i: 0 for i in ids} | {int(row[0]): int(row[1]) for row in rows}
    if client is not None:
        _publish(versions)
    return versions


# ------------------------------------------------------------------ stamps

STAMP_PATTERN = re.compile(r"^(\d{8})\.(\d+)((?:-\d+\.\d+)+)$")


@dataclass(frozen=True)
class Stamp:
    """What a screen shows: the service day, the department list's version and each shown
    department's version."""

    day: str
    list_version: int
    departments: tuple[tuple[int, int], ...]

    def __str__(self) -> str:
        shown = "".join(f"-{d}.{v}" for d, v in self.departments)
        return f"{self.day}.{self.list_version}{shown}"

    @property
    def department_ids(self) -> tuple[int, ...]:
        return tuple(d for d, _v in self.departments)


def _day_text() -> str:
    return clock.today().strftime("%Y%m%d")


def stamp_for(department_ids: Iterable[int]) -> Stamp:
    """The stamp of what screens showing ``department_ids`` show now."""
    ids = list(dict.fromkeys(department_ids))
    versions = current([DEPARTMENT_LIST, *ids])
    return Stamp(
        day=_day_text(),
        list_version=versions[DEPARTMENT_LIST],
        departments=tuple((i, versions[i]) for i in ids),
    )


def parse_stamp(text: str | None) -> Stamp | None:
    """A stamp sent back by a screen, or None when it is not one (anything may be sent)."""
    match = STAMP_PATTERN.match(text or "")
    if match is None or len(text or "") > 2000:
        return None
    pairs = tuple(
        (int(d), int(v)) for d, v in (part.split(".") for part in match[3][1:].split("-"))
    )
    return Stamp(day=match[1], list_version=int(match[2]), departments=pairs)


def stamp_in(etags: Iterable[str]) -> Stamp | None:
    """The first of a poll's ETags (If-None-Match) that is a stamp naming one department."""
    for tag in etags:
        stamp = parse_stamp(tag)
        if stamp is not None and len(stamp.departments) == 1:
            return stamp
    return None


def is_current(stamp: Stamp | None) -> bool:
    """Whether a screen showing ``stamp`` is up to date: same service day, and no change to
    the list of departments or to any department it shows (one key lookup for them all)."""
    if stamp is None or stamp.day != _day_text():
        return False
    versions = current([DEPARTMENT_LIST, *stamp.department_ids])
    return versions[DEPARTMENT_LIST] == stamp.list_version and all(
        versions[d] == v for d, v in stamp.departments
    )

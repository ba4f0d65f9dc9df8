"""Waiting-room screens that report their health (DOMAIN.md, Screens; docs/screens.md).

Every poll of a waiting-room display says which screen it is (a random id its browser made
and keeps), the name it was given on set-up, whether its sound has been started and, through
the version it shows, how up to date it is. That is thousands of sightings an hour, so they
are not all written to the database:

- the live values (last seen, sound, version) go to a *fast layer*: Redis when configured
  (one pipelined HGETALL+HSET+EXPIRE per poll, which also hands back what the previous poll
  left), else a dict in this process. A Redis error falls back to the dict for that call;
- the ``screens`` row is written when the screen is new, when it shows another department,
  or when the row was last written ``WRITE_SECONDS`` (60) or more ago: at most one write per
  screen per minute, whatever the poll rate;
- readers take the rows and lay the fast layer over them, newest wins. A row the fast layer
  does not know (another process without Redis, Redis emptied) may be up to ``WRITE_SECONDS``
  behind, so it is judged stale only that much later: a late flag, never a false one.

A screen is *stale* when not seen for ``SCREEN_STALE_SECONDS`` (default 60) and *muted*
while its sound has not been started (browsers allow sound only after a key press or a click
on the screen). The name the browser sends is used once, when the row is made; after that
the admin's rename is the truth. Forgetting a screen deletes its row and its live entry; a
screen that still polls comes back, under the name its browser keeps.

The display is public: nothing here may break its poll. An invalid id is ignored, a database
error while writing is logged and rolled back to a savepoint, a Redis error falls back.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import contains_eager

from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import after_commit, get_by_id, utcnow
from webapp.departments.models import Department
from webapp.domain_errors import NotFound, ValidationFailed
from webapp.extensions import db
from webapp.live.versions import redis_client
from webapp.screens.models import Screen

log = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CODE_PATTERN = re.compile(r"^[A-Za-z]{1,10}$")  # a department code as a display's URL has it
NAME_MAX = 60
VERSION_MAX = 64
# At most one database write per screen per this many seconds (besides a new screen or one
# moved to another department).
WRITE_SECONDS = 60
DEFAULT_STALE_SECONDS = 60
# The fast layer: one Redis hash per screen, kept a day after the screen's last poll.
FAST_KEY_PREFIX = "hq:screen:"
FAST_KEY_SECONDS = 24 * 3600
# Without Redis: the newest entries of this process (a bound, since any client may poll).
LOCAL_ENTRIES = 5000
# New screens are refused past this many in one department (the display is public: a
# script inventing ids must not fill the admin's list without end).
MAX_SCREENS_PER_DEPARTMENT = 100

NAME_RULE = f"Give the screen a name of 1 to {NAME_MAX} characters, such as “Main hall”."


# ------------------------------------------------------------------ input


def valid_key(key: str | None) -> str | None:
    """The screen id if it is one a display makes (8–64 of A–Z a–z 0–9 - _), else None."""
    if key is None or not KEY_PATTERN.match(key):
        return None
    return key


def clean_name(name: str | None) -> str | None:
    """``name`` without control characters and surrounding spaces, or None when it is empty
    or longer than ``NAME_MAX``."""
    if name is None:
        return None
    text = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    text = " ".join(text.split())
    if not 1 <= len(text) <= NAME_MAX:
        return None
    return text


def default_name(key: str) -> str:
    return f"Screen {key[:6]}"


def stale_seconds() -> int:
    return int(current_app.config.get("SCREEN_STALE_SECONDS", DEFAULT_STALE_SECONDS))


# ------------------------------------------------------------------ the fast layer


@dataclass(frozen=True)
class Live:
    """What the last poll of one screen said, and when its row was last written."""

    seen_at: datetime
    sound_started: bool
    version: str | None
    code: str
    written_at: datetime | None = None
    written_code: str | None = None

    def fields(self) -> dict[str, str]:
        values = {
            "s": f"{self.seen_at.timestamp():.6f}",
            "m": "1" if self.sound_started else "0",
            "v": self.version or "",
            "c": self.code,
        }
        return values

    @classmethod
    def from_fields(cls, raw: dict[Any, Any]) -> Live | None:
        values = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        try:
            seen = _moment(values["s"])
            code = values["c"]
        except (KeyError, ValueError, OverflowError):
            return None
        written = values.get("w")
        return cls(
            seen_at=seen,
            sound_started=values.get("m") == "1",
            version=values.get("v") or None,
            code=code,
            written_at=_moment(written) if written else None,
            written_code=values.get("wc"),
        )


def _moment(epoch: str) -> datetime:
    return datetime.fromtimestamp(float(epoch), UTC)


class LocalScreens:
    """The fast layer of one app in this process (without Redis, or while Redis fails)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, Live] = OrderedDict()
        self._lock = threading.Lock()

    def swap(self, key: str, live: Live) -> Live | None:
        """Store what a poll said (keeping the row's bookkeeping); return the previous entry."""
        with self._lock:
            previous = self._entries.get(key)
            if previous is not None:
                live = replace(
                    live, written_at=previous.written_at, written_code=previous.written_code
                )
            self._entries[key] = live
            self._entries.move_to_end(key)
            while len(self._entries) > LOCAL_ENTRIES:
                self._entries.popitem(last=False)
            return previous

    def mark_written(self, key: str, at: datetime, code: str) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries[key] = replace(entry, written_at=at, written_code=code)

    def get_many(self, keys: Sequence[str]) -> dict[str, Live]:
        with self._lock:
            return {key: self._entries[key] for key in keys if key in self._entries}

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


def _local() -> LocalScreens:
    # On the app, not the module: each app (each test's) has its own database.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store: LocalScreens = app.extensions.setdefault("screens_live", LocalScreens())
    return store


def _redis_swap(client: Any, key: str, live: Live) -> Live | None:
    """One round trip: the previous entry, then this poll's values, then the expiry."""
    name = FAST_KEY_PREFIX + key
    pipeline = client.pipeline(transaction=True)
    pipeline.hgetall(name)
    pipeline.hset(name, mapping=live.fields())
    pipeline.expire(name, FAST_KEY_SECONDS)
    previous, _set, _expire = pipeline.execute()
    return Live.from_fields(previous) if previous else None


def _swap(key: str, live: Live) -> tuple[Live | None, bool]:
    """Record a poll in the fast layer; (the previous entry, whether Redis holds it)."""
    client = redis_client()
    if client is not None:
        try:
            return _redis_swap(client, key, live), True
        except Exception as error:
            log.warning("Screen sighting not kept in Redis (%s); kept in this process.", error)
    return _local().swap(key, live), False


def _mark_written(key: str, at: datetime, code: str, in_redis: bool) -> None:
    if in_redis:
        client = redis_client()
        try:
            client.hset(  # type: ignore[union-attr]
                FAST_KEY_PREFIX + key, mapping={"w": f"{at.timestamp():.6f}", "wc": code}
            )
            return
        except Exception as error:
            log.warning("Screen bookkeeping not kept in Redis (%s).", error)
    _local().mark_written(key, at, code)


def _live_of(keys: Sequence[str]) -> dict[str, Live]:
    """The fast layer's entries for ``keys``: one pipelined round trip to Redis (this
    process's entries, newer ones winning, when Redis fails or misses a key)."""
    if not keys:
        return {}
    local = _local().get_many(keys)
    client = redis_client()
    if client is None:
        return local
    try:
        pipeline = client.pipeline(transaction=False)
        for key in keys:
            pipeline.hgetall(FAST_KEY_PREFIX + key)
        answers = pipeline.execute()
    except Exception as error:
        log.warning("Screen sightings not read from Redis (%s); using this process's.", error)
        return local
    found = dict(local)
    for key, raw in zip(keys, answers, strict=True):
        live = Live.from_fields(raw) if raw else None
        if live is not None and (key not in found or live.seen_at >= found[key].seen_at):
            found[key] = live
    return found


def _forget_live(key: str) -> None:
    _local().forget(key)
    client = redis_client()
    if client is None:
        return
    try:
        client.delete(FAST_KEY_PREFIX + key)
    except Exception as error:
        # A forgotten screen's entry then lives out its day; it names no row.
        log.warning("Screen entry not removed from Redis (%s).", error)


# ------------------------------------------------------------------ sightings


def record_sighting(
    *,
    key: str | None,
    department_code: str,
    name: str | None,
    sound_started: bool,
    version: str | None,
) -> bool:
    """Note one poll of the display of ``department_code`` by screen ``key``; False when the
    key is not a valid screen id (nothing is recorded). Never raises for bad input, a Redis
    failure or a failed database write: the display's poll must be answered regardless."""
    key = valid_key(key)
    if key is None or not CODE_PATTERN.match(department_code):
        return False
    code = department_code.upper()
    now = utcnow()
    version = (version or "")[:VERSION_MAX] or None
    live = Live(seen_at=now, sound_started=sound_started, version=version, code=code)
    previous, in_redis = _swap(key, live)
    if not _needs_write(previous, code, now):
        return True
    if _write_row(key, code, clean_name(name), live):
        _mark_written(key, now, code, in_redis)
    return True


def _needs_write(previous: Live | None, code: str, now: datetime) -> bool:
    if previous is None or previous.written_at is None or previous.written_code != code:
        return True
    return now - previous.written_at >= timedelta(seconds=WRITE_SECONDS)


def _write_row(key: str, code: str, name: str | None, live: Live) -> bool:
    """Create or refresh the screen's row (in a savepoint). True when the next write may wait
    a minute: the row was written, or cannot be now (database away, department full)."""
    try:
        with db.session.begin_nested():
            found = db.session.execute(
                select(Screen, Department.code)
                .join(Department, Screen.department_id == Department.id)
                .where(Screen.key == key)
            ).first()
            screen, shown_code = (found[0], found[1]) if found is not None else (None, None)
            department_id = screen.department_id if screen is not None else None
            if shown_code != code:
                department = db.session.scalar(
                    select(Department).where(Department.code == code, Department.active.is_(True))
                )
                if department is None:
                    return False
                department_id = department.id
            assert department_id is not None  # noqa: S101  (found above)
            if screen is None:
                if _screens_in(department_id) >= MAX_SCREENS_PER_DEPARTMENT:
                    log.warning("Screen %s not recorded: %s has too many screens.", key, code)
                    return True  # counted as written: asked again in a minute, not every poll
                db.session.add(
                    Screen(
                        key=key,
                        department_id=department_id,
                        name=name or default_name(key),
                        last_seen_at=live.seen_at,
                        version=live.version,
                        sound_started=live.sound_started,
                    )
                )
            else:
                screen.department_id = department_id
                if screen.last_seen_at is None or live.seen_at > screen.last_seen_at:
                    screen.last_seen_at = live.seen_at
                screen.version = live.version
                screen.sound_started = live.sound_started
    except IntegrityError as error:
        # Two servers created the same screen at once: the savepoint's rollback left the
        # request's transaction usable, and the next poll finds the other server's row.
        log.warning("Screen %s not written (%s).", key, type(error).__name__)
        return False
    except SQLAlchemyError as error:
        # The database is away. The poll is still answered (from Redis, when the versions are
        # there); the write is tried again in a minute, not at every poll.
        log.warning("Screen %s not written (%s); next try in a minute.", key, error)
        if not db.session.is_active:
            db.session.rollback()  # the display's request has nothing else to keep
        return True
    return True


def _screens_in(department_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(Screen).where(Screen.department_id == department_id)
        )
        or 0
    )


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class ScreenState:
    """A screen as staff see it: its row with the fast layer's newer values laid over."""

    id: int
    key: str
    name: str
    department_id: int
    department_name: str
    last_seen_at: datetime
    version: str | None
    sound_started: bool
    stale: bool

    @property
    def muted(self) -> bool:
        """Its sound was never started (the chime and the spoken calls are not heard)."""
        return not self.sound_started

    @property
    def label(self) -> str:
        """ "Main hall screen" (a name that already says "screen" is left as it is)."""
        return self.name if self.name.lower().endswith("screen") else f"{self.name} screen"


def screens_query(
    department_id: int | None = None, *, active_only: bool = False
) -> Select[tuple[Screen]]:
    """Screens by department name, then name (all departments when ``department_id`` is None;
    an unknown department simply has none)."""
    query = select(Screen).join(Screen.department).options(contains_eager(Screen.department))
    if department_id is not None:
        query = query.where(Screen.department_id == department_id)
    if active_only:
        query = query.where(Department.active.is_(True))
    return query.order_by(Department.name, Screen.name, Screen.id)


def states_of(screens: Iterable[Screen], now: datetime | None = None) -> list[ScreenState]:
    """``screens`` (rows) as staff see them now."""
    rows = list(screens)
    now = now or utcnow()
    live = _live_of([screen.key for screen in rows])
    limit = timedelta(seconds=stale_seconds())
    lag = timedelta(seconds=WRITE_SECONDS)
    states = []
    for screen in rows:
        seen, sound, version = screen.last_seen_at, screen.sound_started, screen.version
        entry = live.get(screen.key)
        if entry is not None and entry.seen_at >= seen:
            seen, sound, version = entry.seen_at, entry.sound_started, entry.version
        # A row nothing live vouches for may be up to a write interval behind the screen.
        allowance = limit if entry is not None else limit + lag
        states.append(
            ScreenState(
                id=screen.id,
                key=screen.key,
                name=screen.name,
                department_id=screen.department_id,
                department_name=screen.department.name,
                last_seen_at=seen,
                version=version,
                sound_started=sound,
                stale=now - seen > allowance,
            )
        )
    return states


def list_screens(
    department_id: int | None = None, *, active_only: bool = False
) -> list[ScreenState]:
    query = screens_query(department_id, active_only=active_only)
    return states_of(db.session.scalars(query))


@dataclass(frozen=True)
class Health:
    """What the boards and the admin dashboard say about the screens they cover."""

    screens: list[ScreenState]

    @property
    def stale(self) -> list[ScreenState]:
        return [screen for screen in self.screens if screen.stale]

    @property
    def muted(self) -> list[ScreenState]:
        """Screens seen lately whose sound is not started (a stale one is reported as stale)."""
        return [screen for screen in self.screens if screen.muted and not screen.stale]

    @property
    def ok(self) -> list[ScreenState]:
        return [screen for screen in self.screens if not screen.stale and not screen.muted]

    @property
    def all_well(self) -> bool:
        return not self.stale and not self.muted


def screen_health(department_id: int | None = None) -> Health:
    """The screens of open departments: a closed department's display answers no one, and
    its screens (listed for the admin to forget) are no one's concern on the boards."""
    return Health(list_screens(department_id, active_only=True))


# ------------------------------------------------------------------ admin


def get_screen(screen_id: int) -> Screen:
    screen = get_by_id(Screen, screen_id)
    if screen is None:
        raise NotFound("No such screen.")
    return screen


def rename_screen(screen: Screen, *, name: str | None, actor: User | None) -> Screen:
    """Give ``screen`` a new name; the browser's own name no longer applies after this (nor
    did it after the screen's first poll)."""
    cleaned = clean_name(name)
    if cleaned is None:
        raise ValidationFailed({"name": NAME_RULE})
    if cleaned == screen.name:
        return screen
    before = screen.name
    screen.name = cleaned
    db.session.flush()
    record_audit(
        "screen.rename",
        actor,
        entity_type="screen",
        entity_id=screen.id,
        summary=f"Renamed screen {before!r} to {cleaned!r}",
        details={"before": before, "after": cleaned, "department_id": screen.department_id},
    )
    return screen


def forget_screen(screen: Screen, *, actor: User | None) -> None:
    """Delete ``screen`` and its live entry. If it still polls, it comes back as new."""
    key, name, screen_id = screen.key, screen.name, screen.id
    department_id = screen.department_id
    db.session.delete(screen)
    db.session.flush()
    record_audit(
        "screen.forget",
        actor,
        entity_type="screen",
        entity_id=screen_id,
        summary=f"Forgot screen {name!r}",
        details={"name": name, "department_id": department_id},
    )
    after_commit(lambda: _forget_live(key))

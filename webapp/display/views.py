"""The waiting-room display (``/display/<CODE>``), the state it polls, and the staff page that
lists every department's display (``/displays``).

The display is public: no sign-in, GET only. It shows ticket numbers, rooms and how many are
waiting — never a name, a date of birth or a phone number (DOMAIN.md, Privacy).

The server renders the screen's live part once, with one partial
(``display/_state.html``): the page includes it, and the poll serves it alone,
with the one thing a browser must do itself besides drawing it — what to say
for each call. The version (also the ETag) is the department's queue-version
stamp (webapp.live.versions): a poll whose If-None-Match still holds gets an
empty 304 from one key lookup, with no queue query and no template. A changed
state is rendered once per stamp and shared by every screen and server process
(webapp.live.renders).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

from flask import Blueprint, current_app, render_template, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from webapp import clock
from webapp.auth.permissions import role_required
from webapp.auth.roles import STAFF
from webapp.database import utcnow
from webapp.departments.models import Department
from webapp.departments.services import get_department_by_code, list_departments
from webapp.domain_errors import NotFound
from webapp.links import public_url_for
from webapp.live import renders
from webapp.live.versions import is_current, stamp_for, stamp_in
from webapp.queue.state import Call, count_waiting, recent_calls
from webapp.screens.services import record_sighting

# No url_prefix: the staff list lives at /displays, next to the screens at /display/<CODE>.
bp = Blueprint("display", __name__)

STATE_TEMPLATE = "display/_state.html"

# What each poll says about the screen making it (docs/screens.md): its random id, its name
# (percent-encoded: a header carries Latin-1 only) and whether its sound has been started.
SCREEN_HEADER = "X-HQ-Screen"
SCREEN_NAME_HEADER = "X-HQ-Screen-Name"
SOUND_HEADER = "X-HQ-Sound"


@dataclass(frozen=True)
class DisplayState:
    department: Department
    calls: list[Call]
    waiting: int

    @property
    def newest(self) -> Call | None:
        """The newest call, under "now calling" only while its patient is still answering it: a
        finished visit (or a no-show, a transfer, a return to the queue) leaves the panel."""
        newest = self.calls[0] if self.calls else None
        return newest if newest is not None and newest.is_current else None


def _active_department(code: str) -> Department:
    department = get_department_by_code(code)
    if not department.active:
        raise NotFound("No such department.")
    return department


def display_state(department: Department) -> DisplayState:
    return DisplayState(
        department=department,
        calls=recent_calls(department),
        waiting=count_waiting(department.id),
    )


def _payload(department: Department) -> str:
    """The live part of the screen and what to say for each call, as JSON text (shared)."""
    current = display_state(department)
    return json.dumps(
        {
            "html": render_template(STATE_TEMPLATE, state=current),
            "calls": [{"id": call.id, "say": call.announcement} for call in current.calls],
        }
    )


def _shared_payload(department: Department) -> tuple[str, str]:
    """The stamp (read first: the render is never older than it) and the shared payload."""
    stamp = str(stamp_for([department.id]))
    return stamp, renders.shared("display", stamp, lambda: _payload(department))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _not_cached(response: Response) -> Response:
    # Public data, but always revalidated: a screen must never show a stale queue.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/display/<code>")
def show(code: str) -> Response:
    department = _active_department(code)
    version, payload = _shared_payload(department)
    now = utcnow()
    html = render_template(
        "display/show.html",
        department=department,
        fragment=Markup(json.loads(payload)["html"]),  # noqa: S704 (our own template's output)
        version=version,
        now=now,
        now_iso=_iso(now),
        timezone=clock.hospital_zone().key,
    )
    return _not_cached(current_app.make_response(html))


@bp.get("/display/<code>/state.json")
def state(code: str) -> Response:
    """The rendered fragment and what to say for each call in it; 304 while unchanged.

    The unchanged answer reads only the versions: a stamp that still holds means the screen
    shows this department's current state (a stamp naming another department only tells its
    sender it is current, which reveals nothing and costs the sender its updates).
    """
    shown = stamp_in(request.if_none_match)
    if shown is not None and is_current(shown):
        _note_screen(code, str(shown))
        response = Response(status=304)
        response.set_etag(str(shown))
        return _not_cached(response)
    version, payload = _shared_payload(_active_department(code))
    _note_screen(code, version)
    # The shared payload, with this answer's version and clock spliced in (no re-encoding).
    head = json.dumps({"version": version, "now": _iso(utcnow())})
    response = Response(head[:-1] + ", " + payload[1:], mimetype="application/json")
    response.set_etag(version)
    return _not_cached(response)


def _note_screen(code: str, version: str) -> None:
    """Record that the screen making this poll is alive and shows ``version`` (nothing for a
    poll that names no screen, such as an older page still open)."""
    key = request.headers.get(SCREEN_HEADER)
    if not key:
        return
    record_sighting(
        key=key,
        department_code=code,
        name=unquote(request.headers.get(SCREEN_NAME_HEADER, ""), errors="replace"),
        sound_started=request.headers.get(SOUND_HEADER) == "1",
        version=version,
    )


def sound_test_sentence() -> str:
    """What the staff page's sound test says after the chime: an example call, in the words the
    screens use (Call.announcement)."""
    example = Call(0, "GM-014", "Room 3", utcnow(), recall=False, recalls=0, ticket_status="called")
    return f"This is a sound test. {example.announcement}."


@bp.get("/displays")
@role_required(*STAFF)
def index() -> str:
    """Every active department's screen, to open on the TV's computer, and a sound test."""
    screens = [
        (department, public_url_for("display.show", code=department.code))
        for department in list_departments(active_only=True)
    ]
    return render_template("display/index.html", screens=screens, sound_test=sound_test_sentence())

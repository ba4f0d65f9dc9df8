"""Waiting-room screens as the server last saw them: GET /screens (admins only).

The admin page (/admin/screens) is the other door onto the same service
(:mod:`webapp.screens.services`); renaming and forgetting are done there.
"""

from __future__ import annotations

from flask import Response, jsonify

from webapp.api.blueprint import allow, api_blueprint
from webapp.api.paging import paginate
from webapp.api.schemas.screens import ScreenList, ScreenOut, ScreenQuery
from webapp.screens.services import screens_query, states_of

bp = api_blueprint(
    "screens", "/screens", "Waiting-room screens: when each was last seen, its sound, its version"
)


@bp.get(
    "",
    summary="Every waiting-room screen with its health, by department then name",
    description="Admins only (403 for other roles). "
    "A screen is `stale` when it has not polled for SCREEN_STALE_SECONDS; "
    "`sound_started` false means it is muted (no one has pressed a key on it since it was "
    "loaded). Live values are at most seconds old, though the table behind them is written "
    "at most once a minute per screen.",
    responses={200: ScreenList},
)
@allow(bp, "admin")
def list_screens(query: ScreenQuery) -> Response:
    rows, counters = paginate(screens_query(query.department_id), query)
    items = [
        ScreenOut(
            id=screen.id,
            name=screen.name,
            department_id=screen.department_id,
            last_seen_at=screen.last_seen_at,
            stale=screen.stale,
            sound_started=screen.sound_started,
            version=screen.version,
        )
        for screen in states_of(rows)
    ]
    return jsonify(items=[item.model_dump(mode="json") for item in items], **counters)

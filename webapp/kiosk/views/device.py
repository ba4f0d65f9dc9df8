"""The kiosk's own pages, under /kiosk/<token>/: reference, year of birth, the ticket.

The token in the address is the kiosk's only key: an unknown, malformed or revoked token
answers the ordinary 404 page on every address here, revealing nothing. The pages show a
ticket number, a department and an estimate, never a name, a date of birth, a phone or an
MRN. Every way a check-in can fail (an unknown reference, a wrong year, a booking of another
day, a cancelled or already checked-in one) gets the one same answer: 200 with "Not found —
please ask at the desk" (200, not 404, so a kiosk's monitoring can tell a wrong address
from a patient's wrong guess; the words and status never differ between the causes).

Check-in attempts are limited per kiosk (KIOSK_RATE_LIMIT), each kiosk on its own budget;
over it, a calm "Too many tries" page (429). A form whose CSRF token has expired (a kiosk left
overnight whose browser was restarted) goes back to the start screen with "please try
again", never to an error page.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from webapp.extensions import limiter
from webapp.kiosk import services as kiosks
from webapp.kiosk.forms import ReferenceForm, YearForm
from webapp.kiosk.models import Kiosk
from webapp.links import public_url_for
from webapp.queue.models import Ticket
from webapp.queue.state import position_of
from webapp.tickets.views import ticket_qr_svg

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk/<token>")

View = str | Response | tuple[str, int]

# The session key holding the id of the ticket this kiosk browser just issued (an id, never
# anything about the patient); the start screen clears it.
TICKET_KEY = "kiosk_ticket_id"
NOT_FOUND = "Not found — please ask at the desk"


def _kiosk() -> Kiosk:
    kiosk: Kiosk = g.kiosk
    return kiosk


@bp.url_value_preprocessor
def find_kiosk(endpoint: str | None, values: dict[str, object] | None) -> None:
    """Every kiosk page finds its kiosk first; no active kiosk, the ordinary 404."""
    token = (values or {}).pop("token", None)
    kiosk = kiosks.find_active_kiosk(token if isinstance(token, str) else None)
    if kiosk is None:
        abort(404)
    g.kiosk = kiosk
    g.kiosk_token = token


@bp.url_defaults
def keep_token(endpoint: str, values: dict[str, object]) -> None:
    if "token" not in values and g.get("kiosk_token"):
        values["token"] = g.kiosk_token


@bp.after_request
def never_keep(response: Response) -> Response:
    # The address is the kiosk's key: no copy in a cache, no search engine.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _rate_key() -> str:
    return f"kiosk:{_kiosk().id}"


def _screen(template: str, status: int = 200, /, **context: object) -> tuple[str, int]:
    return render_template(
        template,
        kiosk=_kiosk(),
        hospital_name=current_app.config["HOSPITAL_NAME"],
        reset_seconds=current_app.config["KIOSK_RESET_SECONDS"],
        start_url=url_for("kiosk.start"),
        **context,
    ), status


@bp.get("")
def start() -> View:
    """The start screen, always with a fresh form: nothing of the last patient stays."""
    session.pop(TICKET_KEY, None)
    again = request.args.get("again") == "1"
    return _screen("kiosk/start.html", form=ReferenceForm(formdata=None), again=again)


@bp.post("/year")
def year() -> View:
    form = ReferenceForm()
    if not form.validate_on_submit():
        return redirect(url_for("kiosk.start", again=1))
    typed = form.reference.data or ""
    if not kiosks.reference_looks_right(typed):
        return _screen(
            "kiosk/start.html",
            422,
            form=form,
            error="Please type all 6 characters of your booking reference.",
        )
    year_form = YearForm(formdata=None, reference=typed)
    return _screen("kiosk/year.html", form=year_form)


@bp.post("/check-in")
@limiter.limit(
    lambda: current_app.config["KIOSK_RATE_LIMIT"],
    key_func=_rate_key,
    scope="kiosk-check-in",
)
def check_in() -> View:
    form = YearForm()
    if not form.validate_on_submit():
        return redirect(url_for("kiosk.start", again=1))
    if not kiosks.year_looks_right(form.year.data):
        return _screen(
            "kiosk/year.html",
            422,
            form=form,
            error="Please type the 4 digits of the year you were born, such as 1975.",
        )
    ticket = kiosks.kiosk_check_in(
        _kiosk(), reference=form.reference.data, year_of_birth=form.year.data
    )
    if ticket is None:
        return _screen("kiosk/not_found.html", message=NOT_FOUND)
    session[TICKET_KEY] = ticket.id
    return redirect(url_for("kiosk.done"), 303)


@bp.get("/done")
def done() -> View:
    ticket = kiosks.kiosk_ticket(session.get(TICKET_KEY))
    if ticket is None:
        return redirect(url_for("kiosk.start"))
    return _screen("kiosk/done.html", **_ticket_context(ticket))


def _ticket_context(ticket: Ticket) -> dict[str, object]:
    place = position_of(ticket)
    estimate = place.estimated_wait_minutes if place else ticket.estimated_wait_at_check_in
    ticket_url = public_url_for("tickets.status", token=ticket.status_token)
    return {
        "ticket": ticket,
        "ahead": place.position - 1 if place else None,
        "estimate": estimate,
        "ticket_url": ticket_url,
        "qr": ticket_qr_svg(ticket_url),
    }


@bp.errorhandler(RateLimitExceeded)
def too_many_tries(error: RateLimitExceeded) -> View:
    return _screen("kiosk/too_many.html", 429)


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> View:
    """An expired or missing form token: back to a fresh start screen, nothing lost."""
    if g.get("kiosk") is None:
        abort(404)
    return redirect(url_for("kiosk.start", again=1))

"""Screenshots of every screen for the guides (`make screenshots`).

Serves the app on loopback from a temporary SQLite database holding the demo data and a
little of a clinic day (check-ins, a finished visit, patients called to rooms), then saves
PNGs taken in Debian's Chromium at the sizes each screen is used at:

- staff screens at 1366x768, signed in as the demo users: the reception board, the clinician
  workstation, the patients list, the appointment day view, the list of waiting-room displays;
- the waiting-room display at 1920x1080, after its start overlay was clicked;
- the patient's ticket page at 390x844;
- the admin's messages page (/admin/notifications) at 1280x800 and 1920x1080, after a few
  messages of the morning were made to fail or wait for a retry, so every status shows.

Each picture is what the window shows (not the whole scrolled page): that is what a person
at that screen sees. Any request that would leave loopback is aborted and fails the run.

The pictures show today at 10:30 (``--at``), whenever they are taken: the server's clock
(time-machine) and the browser's (Playwright's clock) both start there, so the demo day
has a morning behind it and appointments still to come.

    .venv/bin/python scripts/screenshots.py --out /tmp/screens   # look first
    make screenshots                                             # into docs/screens/
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import time_machine
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright
from sqlalchemy import select, update
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/screenshots.py` from anywhere
    sys.path.insert(0, str(ROOT))

from webapp import clock, create_app  # noqa: E402
from webapp.appointments.models import Appointment  # noqa: E402
from webapp.auth.services import find_user_by_username  # noqa: E402
from webapp.commands import DEMO_USERS  # noqa: E402
from webapp.database import utcnow  # noqa: E402
from webapp.departments.models import Department, ServicePoint  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.notifications.models import Notification  # noqa: E402
from webapp.patients.models import Patient  # noqa: E402
from webapp.queue import moves  # noqa: E402

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
STAFF = {"width": 1366, "height": 768}
DISPLAY = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
ADMIN_SIZES = {"": {"width": 1280, "height": 800}, "-wide": {"width": 1920, "height": 1080}}
T = TypeVar("T")
LOGINS = {role: (username, password) for username, _name, role, password in DEMO_USERS}


def make_app(database: Path) -> Flask:
    # The app's other settings come from the environment, as under `make run`; a developer's
    # database or Redis must not be picked up, and demo data is seeded in development only.
    os.environ["APP_ENV"] = "development"
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    app = create_app(
        {
            "SECRET_KEY": secrets.token_hex(32),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://",
            # No worker runs here: tasks (notifications) run where they are queued.
            "HUEY_IMMEDIATE": True,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    return app


def clinic_time(app: Flask, at: str) -> datetime | None:
    """Today at ``at`` (HH:MM) in the hospital's zone, or None for "now"."""
    if at == "now":
        return None
    with app.app_context():
        return datetime.combine(clock.today(), time.fromisoformat(at), clock.hospital_zone())


def load_demo(app: Flask) -> None:
    """Migrate, seed the demo data and play the last 45 minutes of the clinic day."""
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        result = app.test_cli_runner().invoke(args=["seed-demo", "--no-logins"])
        if result.exit_code != 0:
            raise SystemExit(f"seed-demo failed:\n{result.output}")
        print(result.output.strip())
        # In the pictures' clinic every patient with a phone agreed to SMS, so the morning
        # writes enough messages to fill the messages page.
        db.session.execute(
            update(Patient).where(Patient.phone.is_not(None)).values(sms_opt_in=True)
        )
        db.session.commit()
        ticket_token = clinic_morning()
        message_trouble()
        db.session.remove()
    app.config["SCREENSHOT_TICKET_TOKEN"] = ticket_token


def _found(value: T | None, what: str) -> T:
    if value is None:
        raise SystemExit(f"screenshots: {what} is missing")
    return value


MORNING_MINUTES = 45


def _at(minutes_ago: int) -> Any:
    """Travel back for one step of the made-up last 45 minutes (the clock stands still).

    Shortly after midnight the steps are squeezed into today so far: every ticket belongs to
    today's service day, in the same order.
    """
    now = utcnow()
    span = min(timedelta(minutes=MORNING_MINUTES), now - clock.day_bounds(clock.today())[0])
    return time_machine.travel(now - span * minutes_ago / MORNING_MINUTES, tick=False)


def clinic_morning() -> str:
    """Check-ins over the last 45 minutes, a finished visit, patients called to rooms.

    Returns the status token of a General Medicine patient still waiting (their ticket page).
    """
    gm = _found(db.session.scalar(select(Department).where(Department.code == "GM")), "GM")
    ped = _found(db.session.scalar(select(Department).where(Department.code == "PED")), "PED")
    rooms = {point.name: point for point in gm.service_points}
    clinician = _found(find_user_by_username(LOGINS["clinician"][0]), "the demo clinician")
    receptionist = _found(find_user_by_username(LOGINS["receptionist"][0]), "the demo receptionist")

    start, end = clock.day_bounds(clock.today())
    booked_today = {
        appointment.patient_id
        for appointment in db.session.scalars(
            select(Appointment).where(Appointment.starts_at >= start, Appointment.starts_at < end)
        )
    }
    # Walk-ins: demo patients with no appointment today.
    walk_ins = iter(
        patient
        for patient in db.session.scalars(select(Patient).order_by(Patient.mrn))
        if patient.id not in booked_today
    )
    todays_gm = list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.department_id == gm.id,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at)
        )
    )

    def walk_in(department: Department, minutes_ago: int, priority: str = "routine") -> str:
        with _at(minutes_ago):
            ticket = moves.check_in(
                actor=receptionist,
                patient_id=next(walk_ins).id,
                department_id=department.id,
                priority=priority,
            )
            db.session.commit()
            return ticket.status_token

    def call(room: ServicePoint, minutes_ago: int, actor: Any = None) -> int:
        with _at(minutes_ago):
            ticket = _found(
                moves.call_next(service_point_id=room.id, actor=actor),
                f"a patient waiting for {room.name}",
            )
            db.session.commit()
            return ticket.id

    def move(ticket_id: int, status: str, minutes_ago: int) -> None:
        with _at(minutes_ago):
            moves.transition_ticket(ticket_id, status=status, actor=None)
            db.session.commit()

    with _at(MORNING_MINUTES):
        moves.sign_in_at_service_point(rooms["Room 1"].id, clinician)
        db.session.commit()
    walk_in(gm, 40)
    walk_in(gm, 38)
    finished = call(rooms["Room 1"], 35, clinician)
    move(finished, "in_service", 34)
    move(finished, "completed", 22)
    walk_in(ped, 30)
    walk_in(gm, 27, "urgent")
    # The first of today's appointments arrives early, if there is one still to come today.
    if todays_gm:
        with _at(20):
            moves.check_in(actor=receptionist, appointment_id=todays_gm[0].id)
            db.session.commit()
    walk_in(gm, 18)
    walk_in(ped, 15, "priority")
    current = call(rooms["Room 1"], 12, clinician)
    move(current, "in_service", 11)
    call(rooms["Room 2"], 8)
    walk_in(gm, 6)
    token = walk_in(gm, 3)
    walk_in(ped, 2)
    return token


# What went wrong with some of the morning's messages, as the providers word it.
REFUSED = "SMS gateway answered 400: (code 21614) The 'To' number is not a mobile number"
TIMED_OUT = "SMS gateway timed out after 10 s"


def message_trouble() -> None:
    """Make a few of the morning's sent messages fail or wait for a retry.

    The console provider sends every message, so the messages page would show only
    "Sent"; the pictures should show what an admin looks for: failures to resend.
    """
    sent = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.status == "sent", Notification.channel == "sms")
            .order_by(Notification.id)
        )
    )
    if len(sent) < 4:
        raise SystemExit(f"screenshots: only {len(sent)} messages were sent this morning")
    for row in (sent[0], sent[len(sent) // 2]):  # refused by the gateway: failed for good
        row.status, row.attempts, row.last_error, row.sent_at = "failed", 1, REFUSED, None
        row.provider_message_id = None
    retrying = sent[-1]  # the gateway did not answer: a retry is due
    retrying.status, retrying.attempts, retrying.last_error = "pending", 2, TIMED_OUT
    retrying.sent_at = retrying.provider_message_id = None
    retrying.next_attempt_at = utcnow() + timedelta(seconds=60)
    gave_up = sent[-2]  # every attempt timed out
    gave_up.status, gave_up.attempts, gave_up.last_error = "failed", 5, TIMED_OUT
    gave_up.sent_at = gave_up.provider_message_id = None
    db.session.commit()


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class Photographer:
    """Opens guarded browser contexts and saves what their windows show."""

    def __init__(self, browser: Browser, base_url: str, out: Path, moment: datetime | None) -> None:
        self.browser = browser
        self.moment = moment
        self.base_url = base_url
        self.out = out
        self.escaped: list[str] = []

    def context(self, viewport: dict[str, int]) -> BrowserContext:
        context = self.browser.new_context(
            base_url=self.base_url, viewport=viewport, locale="en-GB"
        )
        context.route("**/*", self._only_loopback)
        if self.moment is not None:
            # The page's clock (the display's clock, "waited" minutes) agrees with the server's.
            context.clock.set_fixed_time(self.moment)
        return context

    def _only_loopback(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlsplit(url).hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            self.escaped.append(url)
            route.abort("blockedbyclient")

    def shoot(self, page: Page, path: str, name: str, *, full_page: bool = False) -> None:
        page.goto(path)
        # The polled screens ask again every few seconds; half a second of quiet is enough.
        page.wait_for_load_state("networkidle")
        self.save(page, name, full_page=full_page)

    def save(self, page: Page, name: str, *, full_page: bool = False) -> None:
        target = self.out / name
        page.screenshot(path=str(target), full_page=full_page)
        print(f"saved {target}")


def sign_in(page: Page, role: str) -> None:
    username, password = LOGINS[role]
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def take_screenshots(
    app: Flask, base_url: str, out: Path, chromium: str, moment: datetime | None
) -> list[str]:
    gm_id = _department_id(app, "GM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        camera = Photographer(browser, base_url, out, moment)

        reception = camera.context(STAFF).new_page()
        sign_in(reception, "receptionist")
        camera.shoot(reception, f"/queue?department_id={gm_id}", "reception-board.png")
        camera.shoot(reception, "/patients", "patients.png")
        camera.shoot(reception, f"/appointments/day?department_id={gm_id}", "appointments-day.png")
        camera.shoot(reception, "/displays", "displays.png")

        clinician = camera.context(STAFF).new_page()
        sign_in(clinician, "clinician")
        clinician.goto("/workstation")
        clinician.locator("#ws-service-point").select_option(label="Room 1")
        clinician.get_by_role("button", name="Use this room").click()
        expect(clinician.get_by_text("You are working at Room 1")).to_be_visible()
        camera.shoot(clinician, "/workstation", "workstation.png")

        display = camera.context(DISPLAY).new_page()
        display.goto("/display/GM")
        display.get_by_role("button", name="Start the display").click()
        expect(display.locator("#start-overlay")).to_be_hidden()
        display.wait_for_load_state("networkidle")
        camera.save(display, "display.png")

        phone = camera.context(PHONE).new_page()
        camera.shoot(phone, f"/t/{app.config['SCREENSHOT_TICKET_TOKEN']}", "ticket.png")

        for suffix, size in ADMIN_SIZES.items():
            admin = camera.context(size).new_page()
            sign_in(admin, "admin")
            camera.shoot(admin, "/admin/notifications", f"notifications{suffix}.png")
            # Yesterday (the last day of the demo's history) and this week, whole pages: the
            # charts and tables are below the fold.
            with app.app_context():
                yesterday = (clock.today() - timedelta(days=1)).isoformat()
            camera.shoot(
                admin,
                f"/reports/daily?date={yesterday}",
                f"reports-daily{suffix}.png",
                full_page=True,
            )
            camera.shoot(admin, "/reports/weekly", f"reports-weekly{suffix}.png", full_page=True)

        browser.close()
    return camera.escaped


def _department_id(app: Flask, code: str) -> int:
    with app.app_context():
        department_id = db.session.scalar(select(Department.id).where(Department.code == code))
        db.session.remove()
    return _found(department_id, code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "screens", help="folder for the PNGs"
    )
    parser.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        help="the Chromium to drive (Playwright never downloads one)",
    )
    parser.add_argument(
        "--at",
        default="10:30",
        help="the time of day the pictures show, HH:MM today in the hospital's zone, so they "
        "look the same whenever they are taken; 'now' for the real time (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.at != "now":
        try:
            time.fromisoformat(args.at)
        except ValueError:
            parser.error(f"--at: give HH:MM or now, not {args.at!r}")
    if not Path(args.chromium).is_file():
        parser.error(f"no Chromium at {args.chromium} (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    # One line per picture, not one per request.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="hq-screens-") as folder, ExitStack() as stack:
        app = make_app(Path(folder) / "screens.sqlite3")
        moment = clinic_time(app, args.at)
        if moment is not None:
            # The server's clock runs on from that moment (seeding, the made-up morning, pages).
            stack.enter_context(time_machine.travel(moment, tick=True))
        load_demo(app)
        with serve(app) as base_url:
            print(f"serving the demo on {base_url} at {args.at}")
            escaped = take_screenshots(app, base_url, args.out.resolve(), args.chromium, moment)
    if escaped:
        print("FAILED: requests tried to leave loopback:", *escaped, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Journey: a patient allows notifications on their ticket page in Chromium (the permission
granted), the page registers the service worker, subscribes with the hospital's VAPID key and
the server keeps the subscription; "Turn off" takes it back. Where the browser cannot push, or
the ticket has ended, the offer is not shown.

The app here has VAPID keys, which the shared live server has not, so it runs its own server
on loopback with its own SQLite file.

Chromium cannot make a real push subscription offline: in Playwright's (incognito) contexts it
refuses outright ("Registration failed - permission denied"; Chrome has no Push API in
incognito), and in a persistent profile pushManager.subscribe() waits for Google's push
service, which the sandbox cannot reach. So the init script below replaces only
PushManager.prototype.subscribe / getSubscription with a stand-in that returns a
subscription-shaped object (real P-256 keys, an https endpoint nothing ever contacts) and
records the options the page passed. Everything else is real: the permission, the service
worker's registration and activation, the POST with its JSON, the row in the database.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, Response, expect
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import make_app
from tests.e2e.pages import watch_csp
from tests.factories import DepartmentFactory, PatientFactory
from tests.notifications.push_service import FakeBrowser, VapidPair, vapid_pair
from webapp.departments.models import Department
from webapp.extensions import db
from webapp.notifications.push import subscriptions_for
from webapp.queue import moves as queue

PHONE_SCREEN = {"width": 390, "height": 844}
ENDPOINT = "https://updates.push.services.mozilla.com/wpush/v2/e2e-device-0001"
ON = "Notifications are on for this phone."
OFF = "Notifications are off for this phone."

# The stand-in for the browser's push service (see the module docstring). Its subscription
# outlives a reload (sessionStorage), as a real one would.
STUB_PUSH_MANAGER = """
(function (subscription) {
  var KEY = "e2e-push-subscribed";
  function made() {
    return {
      endpoint: subscription.endpoint,
      expirationTime: null,
      options: window.__pushOptions || null,
      toJSON: function () { return JSON.parse(JSON.stringify(subscription)); },
      unsubscribe: function () {
        window.sessionStorage.removeItem(KEY);
        return Promise.resolve(true);
      }
    };
  }
  if (!window.PushManager) { return; }
  window.__pushOptions = null;
  PushManager.prototype.subscribe = function (options) {
    window.__pushOptions = {
      userVisibleOnly: options.userVisibleOnly,
      applicationServerKey: options.applicationServerKey
    };
    window.__pushKey = Array.from(new Uint8Array(options.applicationServerKey));
    window.sessionStorage.setItem(KEY, JSON.stringify(window.__pushKey));
    return Promise.resolve(made());
  };
  PushManager.prototype.getSubscription = function () {
    var key = window.sessionStorage.getItem(KEY);
    if (!key) { return Promise.resolve(null); }
    window.__pushOptions = {
      userVisibleOnly: true, applicationServerKey: new Uint8Array(JSON.parse(key)).buffer
    };
    return Promise.resolve(made());
  };
})(%s);
"""


@dataclass(frozen=True)
class PushSite:
    url: str
    app: Flask
    keys: VapidPair


@pytest.fixture(scope="module")
def push_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushSite]:
    """The app with VAPID keys on a migrated SQLite file, served on loopback."""
    from flask_migrate import upgrade

    keys = vapid_pair()
    database: Path = tmp_path_factory.mktemp("e2e-push") / "push.sqlite3"
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}", WTF_CSRF_ENABLED=True, **keys.config()
    )
    with app.app_context():
        upgrade()
        DepartmentFactory(code="GM", name="General Medicine")
        db.session.commit()
        db.session.remove()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield PushSite(url=f"http://127.0.0.1:{server.server_port}", app=app, keys=keys)
    server.shutdown()
    thread.join(timeout=10)


def _new_ticket(site: PushSite) -> tuple[int, str]:
    """A waiting walk-in; (id, status token). Commits and lets go of the SQLite file."""
    with site.app.app_context():
        department_id = db.session.scalar(select(Department.id).where(Department.code == "GM"))
        ticket = queue.check_in(
            actor=None, patient_id=PatientFactory().id, department_id=department_id
        )
        db.session.commit()
        found = (ticket.id, ticket.status_token)
        db.session.remove()
    return found


def _stored(site: PushSite, token: str) -> list[dict[str, object]]:
    with site.app.app_context():
        rows = [row.as_webpush_info() for row in subscriptions_for(token)]
        db.session.remove()
    return rows


def _phone_page(context: BrowserContext, site: PushSite, browser: FakeBrowser | None) -> Page:
    context.grant_permissions(["notifications"], origin=site.url)
    page = context.new_page()
    page.set_viewport_size(PHONE_SCREEN)
    if browser is not None:
        page.add_init_script(STUB_PUSH_MANAGER % json.dumps(browser.subscription()))
    return page


def _key_bytes(public_key: str) -> list[int]:
    return list(base64.urlsafe_b64decode(public_key + "=" * (-len(public_key) % 4)))


def _is_push_request(method: str) -> Callable[[Response], bool]:
    return lambda response: response.url.endswith("/push") and response.request.method == method


def test_a_patient_allows_notifications_and_the_subscription_is_kept(
    context: BrowserContext, push_site: PushSite
) -> None:
    _ticket_id, token = _new_ticket(push_site)
    browser = FakeBrowser(endpoint=ENDPOINT)
    page = _phone_page(context, push_site, browser)
    csp_problems = watch_csp(page)
    page.goto(f"{push_site.url}/t/{token}")

    allow = page.get_by_role("button", name="Notify me on this phone")
    expect(allow).to_be_visible()
    with page.expect_response(_is_push_request("POST")) as answer:
        allow.click()

    assert answer.value.status == 200
    assert answer.value.request.post_data_json == browser.subscription()
    expect(page.get_by_role("status").filter(has_text=ON)).to_be_visible()
    expect(page.get_by_role("button", name="Turn off")).to_be_visible()
    expect(allow).to_be_hidden()
    assert _stored(push_site, token) == [browser.subscription()]
    # What the page asked the push service for: messages it always shows, for our key.
    assert page.evaluate("window.__pushOptions.userVisibleOnly") is True
    assert page.evaluate("window.__pushKey") == _key_bytes(push_site.keys.public)
    # The service worker is really registered and running.
    worker = page.evaluate(
        """navigator.serviceWorker.getRegistration('/static/js/push-worker.js')
             .then(function (r) { return r && r.active ? r.active.scriptURL : null; })"""
    )
    assert worker == f"{push_site.url}/static/js/push-worker.js"

    # Back on the page later: it still says so.
    page.reload()
    expect(page.get_by_role("status").filter(has_text=ON)).to_be_visible()

    with page.expect_response(_is_push_request("DELETE")) as answer:
        page.get_by_role("button", name="Turn off").click()

    assert answer.value.status == 200
    expect(page.get_by_role("status").filter(has_text=OFF)).to_be_visible()
    expect(allow).to_be_visible()
    assert _stored(push_site, token) == []
    assert csp_problems == []


def test_the_offer_goes_when_the_ticket_ends(context: BrowserContext, push_site: PushSite) -> None:
    ticket_id, token = _new_ticket(push_site)
    page = _phone_page(context, push_site, FakeBrowser(endpoint=ENDPOINT))
    page.goto(f"{push_site.url}/t/{token}")
    allow = page.get_by_role("button", name="Notify me on this phone")
    expect(allow).to_be_visible()

    with push_site.app.app_context():
        queue.transition_ticket(ticket_id, status="cancelled", actor=None)
        db.session.commit()
        db.session.remove()

    # The page polls every 8 s; on a loaded machine give it two polls.
    expect(page.locator("#ticket-push")).to_be_hidden(timeout=20_000)
    expect(page.get_by_text("This ticket was cancelled")).to_be_visible()


def test_a_browser_without_push_is_offered_nothing(
    context: BrowserContext, push_site: PushSite
) -> None:
    _ticket_id, token = _new_ticket(push_site)
    page = _phone_page(context, push_site, None)
    page.add_init_script("delete window.PushManager;")
    page.goto(f"{push_site.url}/t/{token}")

    # The script has run once the page's poll has been set up; the region stays hidden.
    expect(page.locator("#ticket-status")).to_be_visible()
    page.wait_for_function("document.readyState === 'complete'")
    expect(page.locator("#ticket-push")).to_be_hidden()
    assert page.evaluate("'PushManager' in window") is False


def test_a_patient_who_refuses_is_told_how_to_allow_it_later(
    context: BrowserContext, push_site: PushSite
) -> None:
    _ticket_id, token = _new_ticket(push_site)
    page = context.new_page()  # no permission granted: headless Chromium answers "denied"
    page.add_init_script(STUB_PUSH_MANAGER % json.dumps(FakeBrowser(ENDPOINT).subscription()))
    page.goto(f"{push_site.url}/t/{token}")

    page.get_by_role("button", name="Notify me on this phone").click()

    expect(page.get_by_role("status").filter(has_text="Notifications are blocked")).to_be_visible()
    assert _stored(push_site, token) == []

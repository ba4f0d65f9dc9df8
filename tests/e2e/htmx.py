"""Waiting for htmx in the browser journeys: for what a step needs, never for a fixed time.

A field typed into before htmx has bound it sends no request, and the journey then waits in vain
for results (it failed that way on a loaded 2-core machine). So a journey that types into an
htmx field (1) waits until htmx has processed that very element, (2) types while expecting the
request that typing must send, and (3) only then looks for the swapped-in result.

The signals are htmx's documented events, recorded by a script that runs before the page's own:
``htmx:afterProcessNode`` fires on each element once htmx has bound its triggers, and
``htmx:load`` fires on <body> once htmx has processed the whole initial page (after
DOMContentLoaded, so the page's deferred scripts, e.g. keyboard shortcuts, are ready too).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import BrowserContext, Locator, Page, Response

WATCH_HTMX = """
(function () {
  var bound = new WeakSet();
  window.__e2eHtmxBound = bound;
  window.__e2eHtmxReady = false;
  document.addEventListener("htmx:afterProcessNode", function (event) {
    bound.add(event.target);
  }, true);
  document.addEventListener("htmx:load", function (event) {
    if (event.target === document.body) {
      window.__e2eHtmxReady = true;
    }
  }, true);
})();
"""


def watch_htmx(context: BrowserContext) -> None:
    """Record htmx's processing in every page of ``context`` (done by the e2e conftest)."""
    context.add_init_script(WATCH_HTMX)


def wait_for_htmx(page: Page) -> None:
    """Wait until htmx has processed the page as loaded (and the page's own scripts have run)."""
    page.wait_for_function("() => window.__e2eHtmxReady === true")


def wait_until_bound(field: Locator) -> None:
    """Wait until htmx has bound ``field``'s triggers: typing now sends its request."""
    field.wait_for(state="visible")
    field.page.wait_for_function(
        "(element) => !!window.__e2eHtmxBound && window.__e2eHtmxBound.has(element)",
        arg=field.element_handle(),
    )


def _asks_for(response: Response, path: str, text: str) -> bool:
    url = urlsplit(response.url)
    values = [value for values in parse_qs(url.query).values() for value in values]
    return url.path == path and text in values


def search(field: Locator, text: str, *, keyboard: bool = False) -> Response:
    """Type ``text`` into the htmx search ``field`` and return the answer to its ``hx-get`` request
    for the whole text (typing key by key may send requests for the first letters too; those are
    not the one the journey needs). ``keyboard=True`` types into the focused field key by key, as
    a person does; otherwise the field is filled at once."""
    wait_until_bound(field)
    page = field.page
    path = urlsplit(field.get_attribute("hx-get") or "").path
    assert path, "the field has no hx-get: it is not an htmx search field"
    with page.expect_response(lambda response: _asks_for(response, path, text)) as answer:
        if keyboard:
            page.keyboard.type(text)
        else:
            field.fill(text)
    response = answer.value
    assert response.ok, f"{response.url} answered {response.status}"
    return response

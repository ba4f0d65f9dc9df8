"""Browser journeys: the real app served on loopback, driven in Debian's Chromium.

Every test under tests/e2e gets the `e2e` marker here, so `pytest -m e2e` runs exactly the
browser journeys and `pytest -m "not e2e"` everything else. Playwright never downloads a
browser: it launches /usr/bin/chromium (or CHROMIUM_PATH). When Chromium is missing the
journeys are skipped with a clear message, unless REQUIRE_SERVICES=1 (CI), where each of them
FAILS (tests/e2e/browser.py decides). Any request that would leave loopback is aborted and
fails the test. Journeys wait for what they need, never for a fixed time (tests/e2e/htmx.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Route, expect
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import REQUIRE_SERVICES, make_app
from tests.e2e.browser import CHROMIUM, Verdict, chromium_verdict, is_browser_test
from tests.e2e.htmx import watch_htmx
from webapp.extensions import db

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# An assertion waits up to 10 s for the page to get there (Playwright's default is 5 s): on a
# busy 2-core machine a redirect and its page can take longer. It returns as soon as it holds.
expect.set_options(timeout=10_000)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the marks must be on the items before `-m` deselects by them. This hook sees the
    # whole session's items, hence the path test.
    for item in items:
        if is_browser_test(Path(str(item.path))):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture: a missing browser must not surface as a launch error deep in Playwright.
    verdict, message = chromium_verdict(CHROMIUM, REQUIRE_SERVICES)
    if verdict is Verdict.SKIP:
        pytest.skip(message)
    if verdict is Verdict.FAIL:
        pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on a migrated SQLite file with the demo data, as `make run` would serve it."""
    from flask_migrate import upgrade

    database = tmp_path_factory.mktemp("e2e") / "e2e.sqlite3"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}", WTF_CSRF_ENABLED=True)
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        db.session.remove()
    yield app


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def prepare_context(context: BrowserContext) -> list[str]:
    """Abort any request of ``context`` that would leave this machine (returning the list the
    aborted addresses go to), and let tests/e2e/htmx.py see what htmx has bound."""
    escaped: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK_HOSTS:
            route.continue_()
        else:
            escaped.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    watch_htmx(context)
    return escaped


@pytest.fixture(autouse=True)
def only_loopback(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test for any request of pytest-playwright's `context` that left loopback."""
    if "context" not in request.fixturenames:
        yield
        return
    escaped = prepare_context(request.getfixturevalue("context"))
    yield
    assert not escaped, f"requests left loopback: {escaped}"


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Open more browser contexts (a second person at another PC), guarded like `context`."""
    opened: list[tuple[BrowserContext, list[str]]] = []

    def open_context(**options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        opened.append((context, prepare_context(context)))
        return context

    yield open_context
    for context, _escaped in opened:
        context.close()
    escaped = [url for _context, urls in opened for url in urls]
    assert not escaped, f"requests left loopback: {escaped}"


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-playwright resolves page.goto("/path") against this."""
    return live_server

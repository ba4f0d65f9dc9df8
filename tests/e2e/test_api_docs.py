"""Journey: an integrator opens the API's Swagger UI at /api/docs.

Swagger UI must render every operation of /api/v1/openapi.json from the app's
own files (no CDN: the e2e conftest aborts and fails any request that leaves
loopback) without breaking the page's Content-Security-Policy.
"""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, Response, expect

CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy")


def test_swagger_ui_renders_every_operation_under_the_csp(page: Page, live_server: str) -> None:
    console_errors: list[str] = []
    csp_messages: list[str] = []
    page_errors: list[str] = []
    responses: list[Response] = []

    def on_console(message: ConsoleMessage) -> None:
        if any(marker in message.text for marker in CSP_MARKERS):
            csp_messages.append(message.text)
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("response", lambda response: responses.append(response))

    page.goto(f"{live_server}/api/docs")

    # Swagger UI has fetched the document and drawn the operations.
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/auth/login")).to_be_visible()
    document = page.request.get(f"{live_server}/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        for method in operations:
            operation = page.locator(f".opblock-{method}").filter(
                has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
            )
            expect(operation).to_have_count(1)
            expect(operation).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(
        sum(len(operations) for operations in document["paths"].values())
    )
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    expect(page.get_by_text("Hospital Queue API", exact=False).first).to_be_visible()

    assert not csp_messages, f"Content-Security-Policy violations: {csp_messages}"
    assert not page_errors, f"uncaught script errors: {page_errors}"
    assert not console_errors, f"console errors: {console_errors}"

    # Everything came from the app itself, and came back fine.
    urls = [response.url for response in responses]
    assert all(url.startswith(live_server) for url in urls), urls
    assert f"{live_server}/api/v1/openapi.json" in urls
    assert any("/api/docs/assets/js/swagger-ui-bundle.js" in url for url in urls), urls
    assert any("/api/docs/assets/css/swagger-ui.css" in url for url in urls), urls
    failed = [(response.status, response.url) for response in responses if response.status >= 400]
    assert not failed, failed

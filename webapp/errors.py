"""The error pages and handlers: HTML for pages, the JSON envelope under /api/.

Services raise the errors of :mod:`webapp.domain_errors`; this module turns
them (and HTTP errors) into responses. Nothing here knows about a particular
form or endpoint.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from webapp.api.errors import (
    domain_error_response,
    error_response,
    http_error_response,
    is_api_request,
)
from webapp.domain_errors import DomainError

ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too much data",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "The system is unavailable",
}

ERROR_ADVICE = {
    400: "The request could not be understood. Go back, reload the page and try again.",
    403: "Your account does not have access to this page. Ask an administrator if you need it.",
    404: "Check the address, or use the navigation to find what you need.",
    405: "This page cannot be used that way. Go back and use the buttons on the page.",
    409: "Someone else changed this first. Reload the page to see the latest state.",
    413: "What you sent is larger than the system accepts. Send less at a time.",
    422: "Go back and correct what you entered.",
    429: "Please wait a minute before trying again.",
    500: "The error has been logged. Reload the page; if it happens again, tell IT support.",
}

# How long clients are asked to wait while the database is unreachable.
RETRY_AFTER_SECONDS = 30
UNAVAILABLE_MESSAGE = (
    "The system cannot reach its database right now. Nothing you have not yet sent was lost. "
    "Wait a moment and try again; if this lasts, tell IT support."
)


ErrorPage = tuple[str, int]


def render_error_page(status: int, detail: str | None = None) -> ErrorPage:
    title = ERROR_TITLES.get(status, "Error")
    advice = detail or ERROR_ADVICE.get(status, "")
    return render_template("errors/error.html", status=status, title=title, advice=advice), status


def database_unavailable(error: Exception) -> bool:
    """Whether ``error`` means "the database cannot be reached", not a bug or bad data.

    OperationalError covers a refused or dropped connection (and SQLite's
    "database is locked" after its busy timeout); InterfaceError a connection
    the driver already closed; a pool timeout means no connection came free.
    """
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def wants_json() -> bool:
    """The API, and the JSON endpoints of the public screens (``…/state.json``)."""
    return is_api_request() or request.path.endswith(".json")


def unavailable_response() -> Response:
    """503 while the database is down: the envelope, plain JSON or a page that needs no database.

    The page is rendered without the site layout and without context
    processors, which would look up the signed-in user in the very database
    that is down.
    """
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if is_api_request():
        return error_response(503, UNAVAILABLE_MESSAGE, headers=headers)
    if wants_json():
        response = jsonify(status="unavailable", message=UNAVAILABLE_MESSAGE)
    else:
        # Straight from the Jinja environment: render_template would run the context
        # processors, and Flask-Login's loads the signed-in user from the database.
        page = current_app.jinja_env.get_template("errors/unavailable.html")
        response = Response(page.render(message=UNAVAILABLE_MESSAGE), mimetype="text/html")
    response.status_code = 503
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    """HTML pages get HTML error pages; anything under /api/ gets the JSON error envelope."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(PoolTimeout, database_error)
    app.register_error_handler(Exception, unexpected_error)


def csrf_error(error: CSRFError) -> ErrorPage:
    return render_error_page(
        400,
        "Your form expired or was sent from another page. "
        "Reload the page and submit it again; nothing was saved.",
    )


def http_error(error: HTTPException) -> ErrorPage | HTTPException | Response:
    if error.code is None or error.code < 400:
        return error  # carries its own response (flask-openapi3's validation errors)
    if is_api_request():
        return http_error_response(error)
    # A description given on purpose (abort(400, "...")) says more than the default advice.
    custom = error.description if error.description != type(error).description else None
    return render_error_page(error.code, custom)


def domain_error(error: DomainError) -> ErrorPage | Response:
    if is_api_request():
        return domain_error_response(error)
    return render_error_page(error.status_code, error.message)


def database_error(error: Exception) -> ErrorPage | Response:
    if not database_unavailable(error):
        return unexpected_error(error)
    # The error's name only: a traceback per request would flood the log during an
    # outage (and with hide_parameters no message carries patient data anyway).
    current_app.logger.error(
        "Database unavailable on %s %s: %s", request.method, request.path, type(error).__name__
    )
    return unavailable_response()


def unexpected_error(error: Exception) -> ErrorPage | Response:
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return error_response(500)
    return render_error_page(500)

"""The error pages and handlers: HTML for pages, the JSON envelope under /api/.

Services raise the errors of :mod:`webapp.domain_errors`; this module turns
them (and HTTP errors) into responses. Nothing here knows about a particular
form or endpoint.
"""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
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
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
}

ERROR_ADVICE = {
    400: "The request could not be understood. Go back, reload the page and try again.",
    403: "Your account does not have access to this page. Ask an administrator if you need it.",
    404: "Check the address, or use the navigation to find what you need.",
    405: "This page cannot be used that way. Go back and use the buttons on the page.",
    409: "Someone else changed this first. Reload the page to see the latest state.",
    422: "Go back and correct what you entered.",
    429: "Please wait a minute before trying again.",
    500: "The error has been logged. Reload the page; if it happens again, tell IT support.",
}


ErrorPage = tuple[str, int]


def render_error_page(status: int, detail: str | None = None) -> ErrorPage:
    title = ERROR_TITLES.get(status, "Error")
    advice = detail or ERROR_ADVICE.get(status, "")
    return render_template("errors/error.html", status=status, title=title, advice=advice), status


def register_error_handlers(app: Flask) -> None:
    """HTML pages get HTML error pages; anything under /api/ gets the JSON error envelope."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ErrorPage:
        return render_error_page(
            400,
            "Your form expired or was sent from another page. "
            "Reload the page and submit it again; nothing was saved.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ErrorPage | HTTPException | Response:
        if error.code is None or error.code < 400:
            return error  # carries its own response (flask-openapi3's validation errors)
        if is_api_request():
            return http_error_response(error)
        return render_error_page(error.code)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> ErrorPage | Response:
        if is_api_request():
            return domain_error_response(error)
        return render_error_page(error.status_code, error.message)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> ErrorPage | Response:
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return error_response(500)
        return render_error_page(500)

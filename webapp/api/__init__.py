"""The JSON sub-API under /api/v1: bearer tokens, one error envelope, an OpenAPI 3 document.

It is a second front door onto the same services as the HTML pages. Resource
modules parse input with pydantic schemas, call a service and serialise the
result; the contract is ../shared/design/API.md.
"""

from __future__ import annotations

from pathlib import Path

import flask_openapi3_swagger
from flask import Blueprint, Response, jsonify, render_template
from flask_openapi3 import OpenAPI

from webapp.api import (
    analytics,
    appointments,
    audit,
    auth,
    departments,
    notifications,
    patients,
    queue,
    screens,
    users,
    webhooks,
)
from webapp.api.document import complete_document
from webapp.api.guard import guard_api_request
from webapp.extensions import csrf, limiter

RESOURCE_BLUEPRINTS = (
    auth.bp,
    users.bp,
    departments.bp,
    patients.bp,
    appointments.bp,
    queue.bp,
    audit.bp,
    notifications.bp,
    analytics.bp,
    screens.bp,
    webhooks.bp,
)

# Swagger UI's files come with the flask-openapi3-swagger package (no CDN).
SWAGGER_ASSETS = Path(str(flask_openapi3_swagger.__file__)).parent / "templates" / "swagger"

docs = Blueprint(
    "api_docs", __name__, static_folder=str(SWAGGER_ASSETS), static_url_path="/api/docs/assets"
)


@docs.route("/api/v1/openapi.json")
@limiter.exempt
def openapi_document() -> Response:
    """The OpenAPI 3 description of /api/v1 (public: documentation needs no token)."""
    from flask import current_app

    app: OpenAPI = current_app  # type: ignore[assignment]
    return jsonify(complete_document(app.api_doc))


@docs.route("/api/docs")
def swagger_ui() -> str:
    """Interactive documentation; every asset is served by the app itself."""
    return render_template("api/docs.html")


def init_api(app: OpenAPI) -> None:
    for blueprint in RESOURCE_BLUEPRINTS:
        app.register_api(blueprint)
        csrf.exempt(blueprint)
    app.register_blueprint(docs)
    app.before_request(guard_api_request)

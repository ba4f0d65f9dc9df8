"""Hospital Queue: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, abort, current_app, g, request
from flask_openapi3 import Info, OpenAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from webapp.config import INSTANCE_DIR, PROJECT_ROOT, load_config
from webapp.extensions import csrf, db, htmx, limiter, login_manager, migrate


def create_app(config: Mapping[str, Any] | None = None) -> OpenAPI:
    """Build the app from the environment, then apply ``config`` overrides (used by tests)."""
    from webapp.api.blueprint import SECURITY_SCHEMES
    from webapp.api.errors import validation_error_response
    from webapp.api.schemas.common import ErrorResponse

    # flask-openapi3's Flask subclass: it collects the /api/v1 operations into an
    # OpenAPI 3 document. Its own documentation pages are off; webapp.api serves
    # the document and a Swagger UI that loads nothing from outside.
    app = OpenAPI(
        __name__,
        info=Info(
            title="Hospital Queue API",
            version="1.0.0",
            description="Integrations with Hospital Queue. Errors always use the error envelope.",
        ),
        security_schemes=SECURITY_SCHEMES,
        validation_error_status=422,
        validation_error_model=ErrorResponse,
        validation_error_callback=validation_error_response,
        doc_ui=False,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    settings = load_config()
    if config:
        settings.update(config)
    app.config.update(settings)

    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    # Before anything else reads the request (sessions, CSRF, the views).
    app.before_request(refuse_untrusted_host)
    app.before_request(refuse_oversized_body)
    app.before_request(refuse_nul_characters)
    register_extensions(app)
    register_transaction_handling(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_commands(app)
    configure_tasks(app)
    return app


def register_extensions(app: Flask) -> None:
    import webapp.models  # noqa: F401  (every table, for Alembic)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)

    from webapp.errors import register_error_handlers
    from webapp.session_guard import init_session_guard

    register_error_handlers(app)
    init_session_guard(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave: foreign keys on, waits instead of "database is locked", real BEGINs.

    pysqlite's own transaction handling does not emit BEGIN before SELECTs, which
    breaks SAVEPOINTs and read-then-write transactions; we take control of it.
    Every transaction starts with BEGIN IMMEDIATE, so writers are serialised
    (the embedded default serves one hospital's front desk, not the load
    PostgreSQL is for).
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        # SQLite's own lower() only folds A–Z; searches and duplicate checks compare
        # lower(name) with Python's str.lower(), so give SQLite the same Unicode rule.
        dbapi_connection.create_function(
            "lower", 1, lambda text: None if text is None else str(text).lower(), deterministic=True
        )
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database and engine.url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def refuse_untrusted_host() -> None:
    """400 for a ``Host`` that is neither PUBLIC_BASE_URL's nor loopback (see webapp.links)."""
    from webapp.links import untrusted_host

    if untrusted_host():
        abort(400, "This server does not answer to that host name.")


def refuse_oversized_body() -> None:
    """413 for a body over MAX_CONTENT_LENGTH.

    A declared length is checked before any of the body is read. A chunked
    body has none: Werkzeug reads at most MAX_CONTENT_LENGTH bytes of it but
    hands over that much silently truncated, so it is read here (bounded, and
    cached for the form parser and the API) and refused when it reaches the limit.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is None:
        return
    if request.content_length is not None:
        size = request.content_length
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # At the limit means cut off there: refuse rather than use a truncated body.
        size = len(request.get_data(cache=True)) + 1
    else:
        return
    if size > limit:
        abort(413, f"The request body is larger than the limit of {limit} bytes.")


def refuse_nul_characters() -> None:
    """Refuse NUL in the query string or a submitted form.

    PostgreSQL cannot store NUL in text; letting one through would end in a 500
    deep in a flush. No legitimate input contains it. Only parsed values are
    checked, never the raw body. The API takes JSON only: its guard checks the
    parsed JSON (webapp.api.guard), and no form is parsed for it here.
    """
    from webapp.api.errors import is_api_request

    values = [*request.args.values()]
    if not is_api_request():
        values += request.form.values()
    if any("\x00" in value for value in values):
        abort(400, "Text may not contain NUL characters.")


def register_transaction_handling(app: Flask) -> None:
    """One commit per request: services only flush; a successful response commits.

    Any error response (4xx, 5xx) or exception rolls back, so a refused action
    never leaves half its changes behind.
    """

    @app.after_request
    def commit_on_success(response: Response) -> Response:
        # A few refusals must still keep what they wrote (a failed API sign-in in the
        # audit log, the revocation of a reused refresh token's family).
        if response.status_code < 400 or g.get("keep_changes_on_error"):
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def rollback_on_error(error: BaseException | None) -> None:
        if error is not None:
            db.session.rollback()


def register_blueprints(app: Flask) -> None:
    from webapp.admin.views import bp as admin_bp
    from webapp.appointments.views import bp as appointments_bp
    from webapp.audit_trail.views import bp as audit_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.display.views import bp as display_bp
    from webapp.kiosk.views import admin_bp as kiosk_admin_bp
    from webapp.kiosk.views import bp as kiosk_bp
    from webapp.kiosk.views import slip_bp
    from webapp.main.views import bp as main_bp
    from webapp.notifications.views import bp as notifications_bp
    from webapp.patients.views import bp as patients_bp
    from webapp.queue.views import bp as queue_bp
    from webapp.reports.views import bp as reports_bp
    from webapp.screens.views import bp as screens_bp
    from webapp.tickets.views import bp as tickets_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(patients_bp)
    app.register_blueprint(appointments_bp)
    app.register_blueprint(display_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(queue_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(kiosk_admin_bp)
    app.register_blueprint(slip_bp)
    app.register_blueprint(screens_bp)
    from webapp.webhooks.views import bp as webhooks_admin_bp

    app.register_blueprint(webhooks_admin_bp)
    from webapp.fhir.views import bp as fhir_bp

    app.register_blueprint(fhir_bp)
    csrf.exempt(fhir_bp)  # read-only, bearer tokens, no cookies
    # Browsers ask for /favicon.ico whatever a page links: served as the static file it is.
    app.add_url_rule("/favicon.ico", endpoint="static", defaults={"filename": "favicon.ico"})

    from webapp.api import init_api

    init_api(app)  # type: ignore[arg-type]


def register_template_helpers(app: Flask) -> None:
    from webapp.templating import init_templating

    init_templating(app)


def register_commands(app: Flask) -> None:
    from webapp.commands import init_commands

    init_commands(app)
    from webapp.reports.commands import aggregate_metrics_command

    app.cli.add_command(aggregate_metrics_command)


def configure_tasks(app: Flask) -> None:
    from webapp.tasks import bind_app

    bind_app(app)
    # The domains' periodic tasks register with the Huey instance when imported; the app
    # factory wires them up, so webapp.tasks (which every task module imports) needs none.
    import webapp.notifications.tasks
    import webapp.queue.tasks
    import webapp.reports.tasks
    import webapp.webhooks.tasks  # noqa: F401
    from webapp.notifications.triggers import subscribe_listeners
    from webapp.queue.live import subscribe_listeners as subscribe_queue_listeners

    # The notifications listen to the queue's and the appointments' events (the publishers
    # do not know them), so a change and its messages commit together.
    subscribe_listeners()
    # The queue's screens hear of renamed patients and changed bookings the same way.
    subscribe_queue_listeners()
    from webapp.webhooks.triggers import subscribe_listeners as subscribe_webhook_listeners

    # Webhooks: a delivery row per subscriber, in the same transaction as the change.
    subscribe_webhook_listeners()

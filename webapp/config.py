"""Settings read from the environment, with safe defaults.

Every setting is parsed once, at start-up. A malformed value raises
:class:`ConfigError` naming the variable, so a typo stops the process with a
clear message instead of surfacing later as a confusing failure.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

APP_ENVS = ("production", "development")


class ConfigError(RuntimeError):
    """A setting in the environment is missing or malformed."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"Configuration error in {variable}: {problem}")
        self.variable = variable


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _text(env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"expected true or false, got {value!r}")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _text(env, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise ConfigError(name, f"must be at least 1, got {number}")
    return number


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _text(env, name)
    if value is None:
        return default
    if not value.isdigit():
        raise ConfigError(name, f"expected a whole number of 0 or more, got {value!r}")
    return int(value)


# Waiting-room displays poll every 3 seconds: a shorter stale limit would flag live screens.
MIN_SCREEN_STALE_SECONDS = 10


def _stale_seconds(env: Mapping[str, str]) -> int:
    value = _positive_int(env, "SCREEN_STALE_SECONDS", 60)
    if value < MIN_SCREEN_STALE_SECONDS:
        raise ConfigError(
            "SCREEN_STALE_SECONDS",
            f"must be at least {MIN_SCREEN_STALE_SECONDS} (displays poll every 3 seconds), "
            f"got {value}",
        )
    return value


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse_many

    value = _text(env, name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(name, f"expected a rate such as '5 per minute', got {value!r}") from None
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = _text(env, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(
            name, f"expected a number of seconds such as 0.5, got {value!r}"
        ) from None
    if not 0 < number <= 60:
        raise ConfigError(name, f"must be more than 0 and at most 60 seconds, got {value!r}")
    return number


def redis_client_options(env: Mapping[str, str] | None = None) -> dict[str, float]:
    """Socket timeouts for every Redis client (rate limits, task queue, readiness probe).

    Short on purpose: a Redis that accepts connections but never answers must not
    hold a sign-in or a page for more than a moment; callers fall back as when
    Redis is down. Also usable outside the app (webapp.tasks builds its queue at
    import time), hence the plain ``env`` argument.
    """
    env = os.environ if env is None else env
    return {
        "socket_connect_timeout": _seconds(env, "REDIS_CONNECT_TIMEOUT", 0.5),
        "socket_timeout": _seconds(env, "REDIS_READ_TIMEOUT", 1.0),
    }


_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock_time(env: Mapping[str, str], name: str, default: str) -> str:
    """A wall-clock time of day, "HH:MM" on the 24-hour clock (00:00–23:59)."""
    value = _text(env, name) or default
    if not _CLOCK_TIME.match(value):
        raise ConfigError(name, f"expected a time of day such as 23:30 (24-hour), got {value!r}")
    return value


def _public_base_url(env: Mapping[str, str]) -> str | None:
    value = _text(env, "PUBLIC_BASE_URL")
    if value is None:
        return None
    problem = f"expected an address such as https://queue.example.org, got {value!r}"
    try:
        parsed = urlsplit(value)
        parsed.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise ConfigError("PUBLIC_BASE_URL", problem) from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError("PUBLIC_BASE_URL", problem)
    if parsed.query or parsed.fragment or "?" in value or "#" in value:
        raise ConfigError("PUBLIC_BASE_URL", "may not have a query (?…) or a fragment (#…)")
    if parsed.username is not None or parsed.password is not None:
        raise ConfigError("PUBLIC_BASE_URL", "may not contain a user name or password")
    # One canonical form: no trailing slash, so links are base + path.
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path.rstrip('/')}"


# A database connection pool per process (docs/deployment.md "The database pool"): one
# connection per gunicorn thread, and a couple more for a moment of overlap.
DEFAULT_POOL_SIZE = 4
DEFAULT_MAX_OVERFLOW = 2

SMS_PROVIDERS = ("console", "http")
# The browsers' push services (WEBPUSH_ALLOWED_HOSTS' default): Chrome, Edge, Firefox, Safari.
DEFAULT_PUSH_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.notify.windows.com",
    "*.push.apple.com",
)
SMS_GATEWAY_FORMATS = ("form", "json")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (_text(env, name) or default).lower()
    if value not in choices:
        raise ConfigError(name, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def _hour(env: Mapping[str, str], name: str, default: int) -> int:
    value = _text(env, name)
    if value is None:
        return default
    if not value.isdigit() or not 0 <= int(value) <= 23:
        raise ConfigError(name, f"expected an hour of the day from 0 to 23, got {value!r}")
    return int(value)


def _push_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    """The push services' host names the worker may post to ("*.push.apple.com" patterns)."""
    value = _text(env, "WEBPUSH_ALLOWED_HOSTS")
    if value is None:
        return DEFAULT_PUSH_HOSTS
    hosts = tuple(host.strip().lower() for host in value.split(",") if host.strip())
    pattern = re.compile(r"^(\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+)$")
    bad = [host for host in hosts if not pattern.match(host)]
    if not hosts or bad:
        raise ConfigError(
            "WEBPUSH_ALLOWED_HOSTS",
            "expected host names separated by commas, such as fcm.googleapis.com,*.push.apple.com"
            + (f" (not {bad[0]!r})" if bad else ""),
        )
    return hosts


def _notification_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """SMS and Web Push (docs/notifications.md)."""
    provider = _choice(env, "SMS_PROVIDER", SMS_PROVIDERS, "console")
    gateway_url = _text(env, "SMS_GATEWAY_URL")
    if gateway_url is not None:
        parsed = urlsplit(gateway_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(
                "SMS_GATEWAY_URL", f"expected an http:// or https:// address, got {gateway_url!r}"
            )
    if provider == "http" and gateway_url is None:
        raise ConfigError("SMS_GATEWAY_URL", "required when SMS_PROVIDER is http")
    token = _text(env, "SMS_GATEWAY_TOKEN")
    username, password = _text(env, "SMS_GATEWAY_USERNAME"), _text(env, "SMS_GATEWAY_PASSWORD")
    if token and (username or password):
        raise ConfigError(
            "SMS_GATEWAY_TOKEN",
            "set SMS_GATEWAY_USERNAME and SMS_GATEWAY_PASSWORD, or SMS_GATEWAY_TOKEN, not both",
        )
    if password and not username:
        raise ConfigError("SMS_GATEWAY_USERNAME", "required with SMS_GATEWAY_PASSWORD")
    public_key, private_key = _text(env, "VAPID_PUBLIC_KEY"), _text(env, "VAPID_PRIVATE_KEY")
    if (public_key is None) != (private_key is None):
        raise ConfigError(
            "VAPID_PRIVATE_KEY" if private_key is None else "VAPID_PUBLIC_KEY",
            "set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY (flask generate-vapid-keys) "
            "or neither",
        )
    if public_key is not None:
        from webapp.notifications.providers.webpush import vapid_key_problem

        problem = vapid_key_problem(public_key, private_key)
        if problem is not None:
            raise ConfigError("VAPID_PRIVATE_KEY", problem)
    subject = _text(env, "VAPID_SUBJECT")
    if subject is not None and not subject.startswith(("mailto:", "https://")):
        raise ConfigError(
            "VAPID_SUBJECT",
            f"expected mailto:someone@example.org or an https:// address, got {subject!r}",
        )
    return {
        "SMS_PROVIDER": provider,
        "SMS_GATEWAY_URL": gateway_url,
        "SMS_GATEWAY_FORMAT": _choice(env, "SMS_GATEWAY_FORMAT", SMS_GATEWAY_FORMATS, "form"),
        "SMS_GATEWAY_USERNAME": username,
        "SMS_GATEWAY_PASSWORD": password,
        "SMS_GATEWAY_TOKEN": token,
        "SMS_SENDER": _text(env, "SMS_SENDER"),
        "SMS_GATEWAY_TIMEOUT": _seconds(env, "SMS_GATEWAY_TIMEOUT", 10.0),
        # Append "Reply STOP to opt out." where the gateway handles STOP replies.
        "SMS_STOP_REPLIES": _bool(env, "SMS_STOP_REPLIES", True),
        "VAPID_PUBLIC_KEY": public_key,
        "VAPID_PRIVATE_KEY": private_key,
        "VAPID_SUBJECT": subject,
        "WEBPUSH_TIMEOUT": _seconds(env, "WEBPUSH_TIMEOUT", 10.0),
        "WEBPUSH_ALLOWED_HOSTS": _push_hosts(env),
        # Retries: attempt n waits NOTIFICATION_RETRY_SECONDS × 2^(n-1), at most the maximum.
        "NOTIFICATION_MAX_ATTEMPTS": _positive_int(env, "NOTIFICATION_MAX_ATTEMPTS", 5),
        "NOTIFICATION_RETRY_SECONDS": _positive_int(env, "NOTIFICATION_RETRY_SECONDS", 30),
        "NOTIFICATION_RETRY_MAX_SECONDS": _positive_int(
            env, "NOTIFICATION_RETRY_MAX_SECONDS", 3600
        ),
        # "Your turn is near" goes when this many patients (or fewer) are ahead.
        "NEAR_TURN_AHEAD": _positive_int(env, "NEAR_TURN_AHEAD", 3),
        # The day-before appointment reminder goes from this hour (hospital time).
        "REMINDER_HOUR": _hour(env, "REMINDER_HOUR", 17),
    }


def _database_url(env: Mapping[str, str]) -> str:
    value = _text(env, "DATABASE_URL")
    if value is None:
        INSTANCE_DIR.mkdir(exist_ok=True)
        return f"sqlite:///{INSTANCE_DIR / 'hospital_queue.sqlite3'}"
    # Heroku-style URLs and plain "postgresql://" would load psycopg2, which we do not ship.
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://") :]
    scheme = urlparse(value).scheme
    if scheme not in ("sqlite", "postgresql+psycopg"):
        raise ConfigError(
            "DATABASE_URL", f"expected a postgresql:// or sqlite:/// URL, got scheme {scheme!r}"
        )
    return value


def _engine_options(env: Mapping[str, str], database_url: str) -> dict[str, Any]:
    """SQLAlchemy's engine options. Query parameters can hold patient names: never put them in
    logs or error messages. Pre-ping so a restarted PostgreSQL costs 503s, not broken
    connections.

    On PostgreSQL each process keeps a pool of DATABASE_POOL_SIZE connections and opens up to
    DATABASE_MAX_OVERFLOW more while all are busy: a gunicorn worker needs one per thread (a
    request holds its connection until it ends), so size the pool to the threads and keep the
    overflow small, every process of every host counting against PostgreSQL's max_connections
    (docs/deployment.md). SQLite's pools take no sizes.
    """
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if database_url.startswith("postgresql"):
        options["pool_size"] = _positive_int(env, "DATABASE_POOL_SIZE", DEFAULT_POOL_SIZE)
        options["max_overflow"] = _non_negative_int(
            env, "DATABASE_MAX_OVERFLOW", DEFAULT_MAX_OVERFLOW
        )
    return options


def _redis_url(env: Mapping[str, str]) -> str | None:
    value = _text(env, "REDIS_URL")
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("redis", "rediss", "unix") or not (parsed.hostname or parsed.path):
        raise ConfigError("REDIS_URL", f"expected a redis://host:port/db URL, got {value!r}")
    return value


def _timezone(env: Mapping[str, str]) -> str:
    value = _text(env, "HOSPITAL_TIMEZONE") or "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "HOSPITAL_TIMEZONE", f"unknown time zone {value!r} (use a name like Europe/London)"
        ) from None
    return value


def _phone_region(env: Mapping[str, str]) -> str:
    value = (_text(env, "DEFAULT_PHONE_REGION", "US") or "US").upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            "DEFAULT_PHONE_REGION", f"unknown region {value!r} (use a two-letter code like GB)"
        )
    return value


def _secret_key(env: Mapping[str, str], app_env: str) -> str:
    value = _text(env, "SECRET_KEY")
    if value is not None:
        if len(value) < 16:
            raise ConfigError("SECRET_KEY", "must be at least 16 characters long")
        return value
    if app_env == "production":
        raise ConfigError(
            "SECRET_KEY",
            "required in production; set a long random value, "
            "or set APP_ENV=development for a local trial",
        )
    # Development: keep one random key per checkout so sessions survive restarts.
    INSTANCE_DIR.mkdir(exist_ok=True)
    key_file = INSTANCE_DIR / "dev_secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from environment variables."""
    env = os.environ if env is None else env
    app_env = (_text(env, "APP_ENV", "production") or "production").lower()
    if app_env not in APP_ENVS:
        raise ConfigError("APP_ENV", f"expected production or development, got {app_env!r}")
    production = app_env == "production"
    redis_url = _redis_url(env)
    database_url = _database_url(env)
    idle_minutes = _positive_int(env, "SESSION_IDLE_MINUTES", 30)

    return {
        "APP_ENV": app_env,
        "SECRET_KEY": _secret_key(env, app_env),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(env, database_url),
        "REDIS_URL": redis_url,
        "REDIS_CLIENT_OPTIONS": redis_client_options(env),
        "PUBLIC_BASE_URL": _public_base_url(env),
        # Bigger request bodies get 413 before they are read.
        "MAX_CONTENT_LENGTH": _positive_int(env, "MAX_CONTENT_LENGTH", 1024 * 1024),
        "DEFAULT_PHONE_REGION": _phone_region(env),
        "HOSPITAL_TIMEZONE": _timezone(env),
        "HOSPITAL_NAME": _text(env, "HOSPITAL_NAME", "Hospital Queue"),
        # The FHIR facade's Patient.identifier system for our MRNs (docs/fhir.md).
        "FHIR_MRN_SYSTEM": _text(env, "FHIR_MRN_SYSTEM", "urn:hospital-queue:mrn"),
        # Sessions: HttpOnly and SameSite=Lax always; Secure by default in production.
        "SESSION_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_IDLE_MINUTES": idle_minutes,
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=idle_minutes),
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        # Login throttling (Flask-Limiter). Redis keeps counters shared between workers.
        "LOGIN_LIMIT_PER_USERNAME": _rate_limit(env, "LOGIN_LIMIT_PER_USERNAME", "5 per minute"),
        "LOGIN_LIMIT_PER_ADDRESS": _rate_limit(env, "LOGIN_LIMIT_PER_ADDRESS", "20 per minute"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Passed to the Redis client of the limits library (memory:// ignores them).
        "RATELIMIT_STORAGE_OPTIONS": redis_client_options(env),
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "hq-limits",
        # A moving window: "5 per minute" means any 60 seconds, not per clock minute.
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": False,
        # Flask-WTF: tokens live as long as the session does.
        "WTF_CSRF_TIME_LIMIT": None,
        "BCRYPT_ROUNDS": _positive_int(env, "BCRYPT_ROUNDS", 12),
        # JSON API bearer tokens (signed with SECRET_KEY, HS256).
        "ACCESS_TOKEN_MINUTES": _positive_int(env, "ACCESS_TOKEN_MINUTES", 15),
        "REFRESH_TOKEN_DAYS": _positive_int(env, "REFRESH_TOKEN_DAYS", 7),
        "WORKER_THREADS": _positive_int(env, "WORKER_THREADS", 2),
        # Queue rules (DOMAIN.md): how late an appointment may arrive and still be served
        # at its booked time, and how many tickets of its group a skipped ticket lets go first.
        "QUEUE_APPOINTMENT_GRACE_MINUTES": _non_negative_int(
            env, "QUEUE_APPOINTMENT_GRACE_MINUTES", 15
        ),
        "QUEUE_SKIP_PLACES": _positive_int(env, "QUEUE_SKIP_PLACES", 3),
        # When the end-of-day close runs for a department open at all hours (hospital time).
        "DAY_CLOSE_TIME": _clock_time(env, "DAY_CLOSE_TIME", "23:30"),
        # A waiting-room screen not seen for this long is flagged stale (docs/screens.md).
        "SCREEN_STALE_SECONDS": _stale_seconds(env),
        # How many reverse proxies (nginx, a load balancer) sit in front of the app; their
        # X-Forwarded-For is trusted for the client address used by rate limits and the audit log.
        "TRUSTED_PROXY_COUNT": _non_negative_int(env, "TRUSTED_PROXY_COUNT", 0),
        # The self check-in kiosk (docs/kiosk.md): check-in attempts allowed per kiosk, and
        # how long a kiosk waits untouched before it goes back to its start screen.
        "KIOSK_RATE_LIMIT": _rate_limit(env, "KIOSK_RATE_LIMIT", "10 per minute"),
        "KIOSK_RESET_SECONDS": _positive_int(env, "KIOSK_RESET_SECONDS", 30),
        "HUEY_IMMEDIATE": False,
        **_notification_settings(env),
    }

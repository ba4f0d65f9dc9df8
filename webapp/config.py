"""Settings read from the environment, with safe defaults.

Every setting is parsed once, at start-up. A malformed value raises
:class:`ConfigError` naming the variable, so a typo stops the process with a
clear message instead of surfacing later as a confusing failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
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


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse_many

    value = _text(env, name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(name, f"expected a rate such as '5 per minute', got {value!r}") from None
    return value


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
    idle_minutes = _positive_int(env, "SESSION_IDLE_MINUTES", 30)

    return {
        "APP_ENV": app_env,
        "SECRET_KEY": _secret_key(env, app_env),
        "SQLALCHEMY_DATABASE_URI": _database_url(env),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "DEFAULT_PHONE_REGION": _phone_region(env),
        "HOSPITAL_TIMEZONE": _timezone(env),
        "HOSPITAL_NAME": _text(env, "HOSPITAL_NAME", "Hospital Queue"),
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
        # How many reverse proxies (nginx, a load balancer) sit in front of the app; their
        # X-Forwarded-For is trusted for the client address used by rate limits and the audit log.
        "TRUSTED_PROXY_COUNT": _non_negative_int(env, "TRUSTED_PROXY_COUNT", 0),
        "HUEY_IMMEDIATE": False,
    }

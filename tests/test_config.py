"""Settings from the environment (webapp/config.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import BASE_TEST_CONFIG
from webapp import config as config_module
from webapp import create_app
from webapp.config import INSTANCE_DIR, ConfigError, load_config
from webapp.extensions import db

SECRET = "0123456789abcdef-a-test-secret"
PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": SECRET}
DEVELOPMENT = {"APP_ENV": "development", "SECRET_KEY": SECRET}


def _error(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    return caught.value


def test_it_requires_a_secret_key_in_production():
    error = _error({"APP_ENV": "production"})

    assert error.variable == "SECRET_KEY"
    assert "SECRET_KEY" in str(error)


def test_it_defaults_to_production():
    error = _error({})

    assert error.variable == "SECRET_KEY"
    assert load_config({"SECRET_KEY": SECRET})["APP_ENV"] == "production"


def test_it_refuses_a_short_secret_key():
    assert _error({**PRODUCTION, "SECRET_KEY": "short"}).variable == "SECRET_KEY"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "postgresql+psycopg2://db/hq"),
        ("REDIS_URL", "http://x"),
        ("REDIS_URL", "redis://"),
        ("HOSPITAL_TIMEZONE", "Mars/Base"),
        ("HOSPITAL_TIMEZONE", "/etc/passwd"),
        ("DEFAULT_PHONE_REGION", "ZZ"),
        ("DEFAULT_PHONE_REGION", "Britain"),
        ("SESSION_IDLE_MINUTES", "abc"),
        ("SESSION_IDLE_MINUTES", "0"),
        ("SESSION_IDLE_MINUTES", "-5"),
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("LOGIN_LIMIT_PER_USERNAME", "lots"),
        ("LOGIN_LIMIT_PER_ADDRESS", "5 per fortnight"),
        ("APP_ENV", "staging"),
        ("BCRYPT_ROUNDS", "twelve"),
        ("WORKER_THREADS", "0"),
        ("TRUSTED_PROXY_COUNT", "-1"),
    ],
)
def test_it_names_the_variable_of_a_malformed_value(variable, value):
    error = _error({**PRODUCTION, variable: value})

    assert error.variable == variable
    assert variable in str(error)


def test_it_defaults_to_sqlite_under_instance():
    settings = load_config(PRODUCTION)

    uri = settings["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///")
    assert uri == f"sqlite:///{INSTANCE_DIR / 'hospital_queue.sqlite3'}"
    assert INSTANCE_DIR.name == "instance"


def test_it_defaults_the_time_zone_region_and_limits():
    settings = load_config(PRODUCTION)

    assert settings["HOSPITAL_TIMEZONE"] == "UTC"
    assert settings["DEFAULT_PHONE_REGION"] == "US"
    assert settings["SESSION_IDLE_MINUTES"] == 30
    assert settings["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)
    assert settings["LOGIN_LIMIT_PER_USERNAME"] == "5 per minute"
    assert settings["LOGIN_LIMIT_PER_ADDRESS"] == "20 per minute"
    assert settings["REDIS_URL"] is None
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True


def test_it_treats_blank_values_as_unset():
    settings = load_config({**PRODUCTION, "HOSPITAL_TIMEZONE": "  ", "DATABASE_URL": ""})

    assert settings["HOSPITAL_TIMEZONE"] == "UTC"
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_it_makes_cookies_secure_by_default_in_production():
    settings = load_config(PRODUCTION)

    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_it_makes_cookies_not_secure_by_default_in_development():
    assert load_config(DEVELOPMENT)["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("Yes", True)])
def test_it_lets_the_secure_cookie_flag_be_overridden(value, expected):
    assert load_config({**PRODUCTION, "SESSION_COOKIE_SECURE": value})["SESSION_COOKIE_SECURE"] is (
        expected
    )


@pytest.mark.parametrize(
    "url",
    ["postgres://hq:pw@db:5432/hq", "postgresql://hq:pw@db:5432/hq"],
)
def test_it_uses_psycopg_3_for_postgres_urls(url):
    settings = load_config({**PRODUCTION, "DATABASE_URL": url})

    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://hq:pw@db:5432/hq"


def test_it_keeps_an_explicit_psycopg_url():
    url = "postgresql+psycopg://hq@db/hq"

    assert load_config({**PRODUCTION, "DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == url


def test_it_stores_rate_limits_in_redis_when_configured():
    settings = load_config({**PRODUCTION, "REDIS_URL": "redis://cache:6379/2"})

    assert settings["REDIS_URL"] == "redis://cache:6379/2"
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/2"


def test_it_reads_valid_values():
    settings = load_config(
        {
            **PRODUCTION,
            "HOSPITAL_TIMEZONE": "Europe/London",
            "DEFAULT_PHONE_REGION": "gb",
            "SESSION_IDLE_MINUTES": " 15 ",
            "APP_ENV": "Production",
            "TRUSTED_PROXY_COUNT": "1",
        }
    )

    assert settings["HOSPITAL_TIMEZONE"] == "Europe/London"
    assert settings["DEFAULT_PHONE_REGION"] == "GB"
    assert settings["SESSION_IDLE_MINUTES"] == 15
    assert settings["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=15)
    assert settings["TRUSTED_PROXY_COUNT"] == 1


def test_it_keeps_one_development_secret_key(tmp_path, monkeypatch):
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path)

    first = load_config({"APP_ENV": "development"})["SECRET_KEY"]
    second = load_config({"APP_ENV": "development"})["SECRET_KEY"]

    assert first == second
    assert len(first) >= 32
    key_file = tmp_path / "dev_secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HOSPITAL_TIMEZONE", "Mars/Base"),
        ("DATABASE_URL", "mysql://x"),
        ("SESSION_IDLE_MINUTES", "abc"),
    ],
)
def test_it_refuses_to_create_the_app_with_a_malformed_environment(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        create_app(BASE_TEST_CONFIG)

    assert caught.value.variable == variable


def test_it_refuses_to_create_a_production_app_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(BASE_TEST_CONFIG)


# --------------------------------------------------- limits, links and timeouts


def test_it_defaults_the_new_operational_settings():
    settings = load_config(DEVELOPMENT)

    assert settings["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert settings["PUBLIC_BASE_URL"] is None
    assert settings["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "hide_parameters": True}
    timeouts = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}
    assert settings["REDIS_CLIENT_OPTIONS"] == timeouts
    assert settings["RATELIMIT_STORAGE_OPTIONS"] == timeouts


def test_it_reads_the_operational_settings():
    settings = load_config(
        {
            **DEVELOPMENT,
            "MAX_CONTENT_LENGTH": "2048",
            "PUBLIC_BASE_URL": "https://queue.example.org/hq/",
            "REDIS_CONNECT_TIMEOUT": "0.25",
            "REDIS_READ_TIMEOUT": "2",
        }
    )

    assert settings["MAX_CONTENT_LENGTH"] == 2048
    assert settings["PUBLIC_BASE_URL"] == "https://queue.example.org/hq"  # no trailing slash
    assert settings["REDIS_CLIENT_OPTIONS"] == {
        "socket_connect_timeout": 0.25,
        "socket_timeout": 2.0,
    }


POSTGRES = {**DEVELOPMENT, "DATABASE_URL": "postgresql://hq@db.internal/hq"}


def test_it_sizes_the_postgres_pool_for_a_worker_s_threads_by_default():
    options = load_config(POSTGRES)["SQLALCHEMY_ENGINE_OPTIONS"]

    assert options == {
        "pool_pre_ping": True,
        "hide_parameters": True,
        "pool_size": 4,
        "max_overflow": 2,
    }


def test_it_reads_the_postgres_pool_size_and_overflow():
    options = load_config({**POSTGRES, "DATABASE_POOL_SIZE": "8", "DATABASE_MAX_OVERFLOW": "0"})[
        "SQLALCHEMY_ENGINE_OPTIONS"
    ]

    assert (options["pool_size"], options["max_overflow"]) == (8, 0)


def test_it_gives_sqlite_no_pool_sizes(tmp_path):
    # SQLite's in-memory pool refuses the sizes; the settings are ignored there, not an error.
    settings = load_config({**DEVELOPMENT, "DATABASE_URL": "sqlite://", "DATABASE_POOL_SIZE": "8"})

    assert "pool_size" not in settings["SQLALCHEMY_ENGINE_OPTIONS"]
    assert "max_overflow" not in settings["SQLALCHEMY_ENGINE_OPTIONS"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_POOL_SIZE", "0"),
        ("DATABASE_POOL_SIZE", "four"),
        ("DATABASE_MAX_OVERFLOW", "-1"),
        ("DATABASE_MAX_OVERFLOW", "lots"),
    ],
)
def test_it_refuses_a_malformed_pool_size(variable, value):
    assert _error({**POSTGRES, variable: value}).variable == variable


def test_the_app_s_postgres_engine_gets_the_pool_sizes(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://hq@db.invalid/hq")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "1")
    config = {**BASE_TEST_CONFIG}
    del config["SQLALCHEMY_DATABASE_URI"]
    application = create_app(config)

    with application.app_context():
        pool = db.engine.pool  # no connection is opened: the host does not exist
        assert (pool.size(), pool._max_overflow) == (3, 1)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAX_CONTENT_LENGTH", "1MB"),
        ("MAX_CONTENT_LENGTH", "0"),
        ("PUBLIC_BASE_URL", "queue.example.org"),
        ("PUBLIC_BASE_URL", "ftp://queue.example.org"),
        ("PUBLIC_BASE_URL", "https://"),
        ("PUBLIC_BASE_URL", "https://queue.example.org/?x=1"),
        ("PUBLIC_BASE_URL", "https://queue.example.org/#top"),
        ("PUBLIC_BASE_URL", "https://queue.example.org:port"),
        ("PUBLIC_BASE_URL", "https://user:pw@queue.example.org"),
        ("REDIS_CONNECT_TIMEOUT", "fast"),
        ("REDIS_READ_TIMEOUT", "0"),
        ("REDIS_READ_TIMEOUT", "600"),
    ],
)
def test_it_refuses_malformed_operational_settings(variable, value):
    assert _error({**DEVELOPMENT, variable: value}).variable == variable

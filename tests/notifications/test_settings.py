"""The notification settings (webapp/config.py): defaults, and bad values refused at start-up."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, load_config

BASE = {"APP_ENV": "development", "SECRET_KEY": "0123456789abcdef-a-test-secret"}


def test_it_defaults_to_the_console_provider_and_sensible_limits():
    config = load_config(BASE)

    assert config["SMS_PROVIDER"] == "console"
    assert config["SMS_GATEWAY_FORMAT"] == "form"
    assert config["NEAR_TURN_AHEAD"] == 3
    assert config["REMINDER_HOUR"] == 17
    assert config["NOTIFICATION_MAX_ATTEMPTS"] == 5
    assert config["NOTIFICATION_RETRY_SECONDS"] == 30
    assert config["SMS_STOP_REPLIES"] is True
    assert config["VAPID_PUBLIC_KEY"] is None and config["VAPID_PRIVATE_KEY"] is None


def test_it_reads_an_http_gateway():
    config = load_config(
        {
            **BASE,
            "SMS_PROVIDER": "HTTP",
            "SMS_GATEWAY_URL": "https://sms.example.org/send",
            "SMS_GATEWAY_FORMAT": "json",
            "SMS_GATEWAY_TOKEN": "t0ken",
            "SMS_GATEWAY_TIMEOUT": "4",
            "NEAR_TURN_AHEAD": "5",
            "REMINDER_HOUR": "9",
        }
    )

    assert config["SMS_PROVIDER"] == "http"
    assert config["SMS_GATEWAY_URL"] == "https://sms.example.org/send"
    assert config["SMS_GATEWAY_FORMAT"] == "json"
    assert config["SMS_GATEWAY_TOKEN"] == "t0ken"
    assert config["SMS_GATEWAY_TIMEOUT"] == 4.0
    assert (config["NEAR_TURN_AHEAD"], config["REMINDER_HOUR"]) == (5, 9)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SMS_PROVIDER": "pigeon"}, "SMS_PROVIDER"),
        ({"SMS_PROVIDER": "http"}, "SMS_GATEWAY_URL"),
        ({"SMS_GATEWAY_URL": "ftp://sms.example.org"}, "SMS_GATEWAY_URL"),
        ({"SMS_GATEWAY_FORMAT": "xml"}, "SMS_GATEWAY_FORMAT"),
        ({"SMS_GATEWAY_TOKEN": "t", "SMS_GATEWAY_USERNAME": "u"}, "SMS_GATEWAY_TOKEN"),
        ({"SMS_GATEWAY_PASSWORD": "p"}, "SMS_GATEWAY_USERNAME"),
        ({"SMS_GATEWAY_TIMEOUT": "0"}, "SMS_GATEWAY_TIMEOUT"),
        ({"VAPID_PUBLIC_KEY": "abc"}, "VAPID_PRIVATE_KEY"),
        ({"VAPID_PRIVATE_KEY": "abc"}, "VAPID_PUBLIC_KEY"),
        ({"VAPID_SUBJECT": "admin@example.org"}, "VAPID_SUBJECT"),
        ({"NEAR_TURN_AHEAD": "0"}, "NEAR_TURN_AHEAD"),
        ({"REMINDER_HOUR": "24"}, "REMINDER_HOUR"),
        ({"REMINDER_HOUR": "six"}, "REMINDER_HOUR"),
        ({"NOTIFICATION_MAX_ATTEMPTS": "0"}, "NOTIFICATION_MAX_ATTEMPTS"),
        ({"WEBPUSH_ALLOWED_HOSTS": " , "}, "WEBPUSH_ALLOWED_HOSTS"),
        ({"WEBPUSH_ALLOWED_HOSTS": "https://fcm.googleapis.com"}, "WEBPUSH_ALLOWED_HOSTS"),
        ({"VAPID_PUBLIC_KEY": "abc", "VAPID_PRIVATE_KEY": "not-a-key"}, "VAPID_PRIVATE_KEY"),
    ],
)
def test_it_refuses_a_bad_setting_naming_it(env, variable):
    with pytest.raises(ConfigError) as caught:
        load_config({**BASE, **env})

    assert caught.value.variable == variable


def test_it_reads_the_allowed_push_services():
    default = load_config(BASE)["WEBPUSH_ALLOWED_HOSTS"]
    assert "fcm.googleapis.com" in default and "*.push.apple.com" in default

    config = load_config({**BASE, "WEBPUSH_ALLOWED_HOSTS": "Push.Example.org, *.push.apple.com"})
    assert config["WEBPUSH_ALLOWED_HOSTS"] == ("push.example.org", "*.push.apple.com")


def test_it_refuses_a_vapid_pair_that_does_not_belong_together():
    from tests.notifications.push_service import vapid_pair

    first, second = vapid_pair(), vapid_pair()
    env = {**BASE, "VAPID_PUBLIC_KEY": first.public, "VAPID_PRIVATE_KEY": second.private}

    with pytest.raises(ConfigError, match="does not belong"):
        load_config(env)
    assert load_config({**env, "VAPID_PRIVATE_KEY": first.private})["VAPID_PUBLIC_KEY"]

"""KIOSK_RATE_LIMIT and KIOSK_RESET_SECONDS (webapp/config.py)."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, load_config

BASE = {"APP_ENV": "development", "SECRET_KEY": "x" * 32}


def test_the_defaults_are_10_tries_a_minute_and_30_seconds():
    config = load_config(BASE)

    assert (config["KIOSK_RATE_LIMIT"], config["KIOSK_RESET_SECONDS"]) == ("10 per minute", 30)


def test_both_can_be_set():
    config = load_config({**BASE, "KIOSK_RATE_LIMIT": "20/minute", "KIOSK_RESET_SECONDS": "45"})

    assert (config["KIOSK_RATE_LIMIT"], config["KIOSK_RESET_SECONDS"]) == ("20/minute", 45)


@pytest.mark.parametrize(
    ("name", "value"),
    [("KIOSK_RATE_LIMIT", "lots"), ("KIOSK_RESET_SECONDS", "0"), ("KIOSK_RESET_SECONDS", "soon")],
)
def test_a_malformed_value_stops_the_start_naming_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({**BASE, name: value})


def test_the_reset_time_reaches_the_kiosk_page(app, client):
    from tests.kiosk.conftest import new_kiosk

    app.config["KIOSK_RESET_SECONDS"] = 2
    kiosk = new_kiosk("Lobby")

    assert 'data-reset-seconds="2"' in client.get(kiosk.url).get_data(as_text=True)

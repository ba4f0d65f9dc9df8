"""SCREEN_STALE_SECONDS: 60 by default, at least 10 (the displays poll every 3 seconds)."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, load_config

BASE = {"APP_ENV": "development", "SECRET_KEY": "x" * 32}


def test_the_default_is_sixty_seconds() -> None:
    assert load_config(BASE)["SCREEN_STALE_SECONDS"] == 60


def test_it_can_be_set() -> None:
    assert load_config({**BASE, "SCREEN_STALE_SECONDS": "120"})["SCREEN_STALE_SECONDS"] == 120


@pytest.mark.parametrize("value", ["0", "3", "9", "-5", "soon", "1.5"])
def test_it_refuses_a_value_that_would_flag_live_screens_or_is_not_a_number(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({**BASE, "SCREEN_STALE_SECONDS": value})
    assert raised.value.variable == "SCREEN_STALE_SECONDS"

"""Fixtures for the admin pages: a second browser and a generous login limit."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import GENEROUS_LOGIN_LIMITS


@pytest.fixture
def app_config() -> dict[str, Any]:
    # Several tests check that a sign-in fails; keep the throttle out of the way.
    return dict(GENEROUS_LOGIN_LIMITS)


@pytest.fixture
def other_client(app: Flask) -> FlaskClient:
    """A second browser, for the person whose account the admin changes."""
    return app.test_client()

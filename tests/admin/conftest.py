"""Fixtures for the admin pages: a second browser and a generous login limit."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def app_config() -> dict[str, Any]:
    # Several tests check that a sign-in fails; keep the throttle out of the way.
    return {
        "LOGIN_LIMIT_PER_USERNAME": "100 per minute",
        "LOGIN_LIMIT_PER_ADDRESS": "100 per minute",
    }


@pytest.fixture
def other_client(app: Flask) -> FlaskClient:
    """A second browser, for the person whose account the admin changes."""
    return app.test_client()

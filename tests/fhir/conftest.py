"""Fixtures for the FHIR facade: tokens, FHIR GETs, and every test on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import running_app
from webapp.auth.models import User
from webapp.auth.tokens import issue_token_pair
from webapp.extensions import db

FHIR = "/fhir/r4"
FHIR_JSON = "application/fhir+json"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The facade's tests run on both databases (PostgreSQL: TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        yield from running_app(**app_config)
        return
    pg_app: Flask = request.getfixturevalue("pg_app")
    pg_app.config.update(app_config)
    yield pg_app


def token_for(user: User) -> str:
    token = issue_token_pair(user).access_token
    db.session.commit()
    return token


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def fhir_get(client: FlaskClient, path: str, user: User | None, status: int = 200) -> Any:
    """GET ``path`` under /fhir/r4 as ``user`` (None: no token); the parsed JSON body."""
    response = client.get(FHIR + path, headers=bearer(user) if user else {})
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    assert response.mimetype == FHIR_JSON
    return response.get_json()


def search(client: FlaskClient, path: str, user: User) -> Bundle:
    """A search's answer, validated as a searchset Bundle."""
    bundle = Bundle.model_validate(fhir_get(client, path, user))
    assert bundle.type == "searchset"
    return bundle


def outcome_of(body: Any) -> OperationOutcome:
    """An error body, validated as an OperationOutcome with one error issue."""
    result = OperationOutcome.model_validate(body)
    assert result.issue and result.issue[0].severity == "error"
    assert result.issue[0].diagnostics
    return result

"""CSRF protection of the HTML forms and of htmx requests (Flask-WTF, webapp/errors.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import DEFAULT_PASSWORD

FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HX_HEADERS = re.compile(r"<body hx-headers='([^']+)'>")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


def _form_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = FORM_TOKEN.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def _sign_in_with_token(client: FlaskClient) -> None:
    token = _form_token(client)
    response = client.post(
        "/login", data={"username": "rita", "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def _signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def test_it_refuses_a_sign_in_without_a_token(client, receptionist):
    response = client.post("/login", data={"username": "rita", "password": DEFAULT_PASSWORD})

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Your form expired" in response.get_data(as_text=True)
    assert not _signed_in(client)


def test_it_refuses_a_sign_in_with_a_forged_token(client, receptionist):
    client.get("/login")

    response = client.post(
        "/login",
        data={"username": "rita", "password": DEFAULT_PASSWORD, "csrf_token": "forged"},
    )

    assert response.status_code == 400
    assert not _signed_in(client)


def test_it_accepts_a_sign_in_with_the_token_from_the_form(client, receptionist):
    token = _form_token(client)

    response = client.post(
        "/login", data={"username": "rita", "password": DEFAULT_PASSWORD, "csrf_token": token}
    )

    assert response.status_code == 302
    assert _signed_in(client)


def test_it_puts_the_token_in_the_body_hx_headers_of_signed_in_pages(client, receptionist):
    _sign_in_with_token(client)

    html = client.get("/").get_data(as_text=True)

    match = HX_HEADERS.search(html)
    assert match, "no hx-headers attribute on <body>"
    headers = json.loads(match.group(1))
    assert headers["X-CSRFToken"]


def test_it_accepts_an_htmx_post_with_the_token_in_the_header(client, receptionist):
    _sign_in_with_token(client)
    html = client.get("/").get_data(as_text=True)
    token = json.loads(HX_HEADERS.search(html).group(1))["X-CSRFToken"]

    response = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})

    assert response.status_code == 302
    assert not _signed_in(client)


def test_it_refuses_an_htmx_post_without_the_token(client, receptionist):
    _sign_in_with_token(client)

    response = client.post("/logout", headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert _signed_in(client)

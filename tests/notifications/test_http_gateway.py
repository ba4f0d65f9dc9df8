"""The HTTP SMS gateway provider against a fake gateway: a real HTTP server on loopback."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import time_machine
from pytest_httpserver import HTTPServer

from tests.notifications.gateway import PHONE, silent_gateway, sms_requests, unused_port
from webapp.notifications.providers.base import (
    OutgoingMessage,
    PermanentSendError,
    RetryableSendError,
    Sent,
)
from webapp.notifications.providers.http_gateway import HttpSmsGateway, retry_after_seconds

BODY = "Ticket C-012: please go to Room 3 now. Reply STOP to opt out."


def sms(**overrides: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {"notification_id": 1, "channel": "sms", "body": BODY, "to": PHONE}
    return OutgoingMessage(**{**fields, **overrides})


def gateway(server: HTTPServer, **overrides: Any) -> HttpSmsGateway:
    settings: dict[str, Any] = {"sender": "HOSPITAL", "timeout": 5.0, **overrides}
    return HttpSmsGateway(server.url_for("/sms"), **settings)


# ------------------------------------------------------------------- accepted


def test_it_posts_a_twilio_form_with_basic_auth(httpserver: HTTPServer):
    httpserver.expect_request("/sms", method="POST").respond_with_json(
        {"sid": "SM0123456789abcdef", "status": "queued"}, status=201
    )

    sent = gateway(httpserver, username="AC123", password="auth-token").send(sms())

    assert sent == Sent(provider_message_id="SM0123456789abcdef")
    (request,) = sms_requests(httpserver)
    assert request.mimetype == "application/x-www-form-urlencoded"
    assert request.form.to_dict() == {"To": PHONE, "From": "HOSPITAL", "Body": BODY}
    expected = base64.b64encode(b"AC123:auth-token").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_it_posts_json_with_a_bearer_token(httpserver: HTTPServer):
    httpserver.expect_request("/sms", method="POST").respond_with_json({"id": 4711})

    sent = gateway(httpserver, body_format="json", token="s3cret-token").send(sms())

    assert sent == Sent(provider_message_id="4711")
    (request,) = sms_requests(httpserver)
    assert request.mimetype == "application/json"
    assert request.get_json() == {"to": PHONE, "from": "HOSPITAL", "body": BODY}
    assert request.headers["Authorization"] == "Bearer s3cret-token"


def test_it_leaves_out_the_sender_and_the_credentials_it_was_not_given(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_data("", status=204)

    HttpSmsGateway(httpserver.url_for("/sms")).send(sms())

    (request,) = sms_requests(httpserver)
    assert request.form.to_dict() == {"To": PHONE, "Body": BODY}
    assert "Authorization" not in request.headers


@pytest.mark.parametrize(
    ("answer", "content_type", "message_id"),
    [
        ('{"sid": "SM1"}', "application/json", "SM1"),
        ('{"id": "abc-2"}', "application/json", "abc-2"),
        ('{"message_id": 33}', "application/json", "33"),
        ('{"sid": null, "message_id": "m-4"}', "application/json", "m-4"),
        ('{"status": "queued"}', "application/json", None),
        ("[1, 2]", "application/json", None),
        ("OK", "text/plain", None),
        ("", "text/plain", None),
    ],
)
def test_it_reads_the_message_id_from_the_answer(
    httpserver: HTTPServer, answer: str, content_type: str, message_id: str | None
):
    httpserver.expect_request("/sms").respond_with_data(answer, content_type=content_type)

    assert gateway(httpserver).send(sms()) == Sent(provider_message_id=message_id)


def test_it_cuts_a_message_id_to_what_the_row_holds(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_json({"sid": "x" * 500})

    sent = gateway(httpserver).send(sms())

    assert sent.provider_message_id == "x" * 128


# ------------------------------------------------------------------- retryable


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_it_retries_a_server_error(httpserver: HTTPServer, status: int):
    httpserver.expect_request("/sms").respond_with_data("Internal trouble", status=status)

    with pytest.raises(RetryableSendError) as failure:
        gateway(httpserver).send(sms())

    assert str(failure.value) == f"SMS gateway answered {status}"
    assert failure.value.retry_after is None


def test_it_waits_as_long_as_a_429_says(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_json(
        {"message": "Too many requests"}, status=429, headers={"Retry-After": "7"}
    )

    with pytest.raises(RetryableSendError) as failure:
        gateway(httpserver).send(sms())

    assert failure.value.retry_after == 7
    assert str(failure.value) == "SMS gateway answered 429 and asked to wait 7 s"


def test_it_retries_a_429_without_retry_after_at_its_own_pace(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_data("slow down", status=429)

    with pytest.raises(RetryableSendError) as failure:
        gateway(httpserver).send(sms())

    assert failure.value.retry_after is None


def test_it_reads_retry_after_given_as_an_http_date(httpserver: HTTPServer):
    now = datetime(2030, 3, 4, 9, 15, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    httpserver.expect_request("/sms").respond_with_data(
        "maintenance", status=503, headers={"Retry-After": later}
    )

    with time_machine.travel(now, tick=False), pytest.raises(RetryableSendError) as failure:
        gateway(httpserver).send(sms())

    assert failure.value.retry_after == 90


def test_it_ignores_retry_after_on_other_server_errors(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_data(
        "", status=500, headers={"Retry-After": "30"}
    )

    with pytest.raises(RetryableSendError) as failure:
        gateway(httpserver).send(sms())

    assert failure.value.retry_after is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("0", 0),
        (" 120 ", 120),
        ("86400", 86400),
        ("999999999", 86400),  # at most a day
        ("Mon, 04 Mar 2030 09:15:30 GMT", 30),
        ("Mon, 04 Mar 2030 09:15:00 GMT", 0),
        ("Sun, 03 Mar 2030 09:15:00 GMT", 0),  # in the past: now, never negative
        ("Sat, 09 Mar 2030 09:15:00 GMT", 86400),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_it_reads_retry_after_in_seconds_or_as_a_date(header: str | None, seconds: float | None):
    with time_machine.travel(datetime(2030, 3, 4, 9, 15, 0, tzinfo=UTC), tick=False):
        assert retry_after_seconds(header) == seconds


def test_it_retries_when_the_gateway_does_not_answer_in_time(httpserver: HTTPServer):
    with silent_gateway(httpserver), pytest.raises(RetryableSendError) as failure:
        gateway(httpserver, timeout=0.3).send(sms())

    assert str(failure.value) == "SMS gateway timed out after 0.3 s"
    assert failure.value.retry_after is None


def test_it_retries_when_the_connection_is_refused():
    url = f"http://127.0.0.1:{unused_port()}/sms?api_key=k3y-in-the-url"

    with pytest.raises(RetryableSendError) as failure:
        HttpSmsGateway(url, timeout=2).send(sms())

    text = str(failure.value)
    assert text == "SMS gateway unreachable: connection refused, reset or failed"
    assert "k3y" not in text


# ------------------------------------------------------------------- permanent


def test_it_gives_up_on_a_400_quoting_the_gateway_without_the_number(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_json(
        {
            "code": 21211,
            "message": f"The 'To' number {PHONE} is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
        status=400,
    )

    with pytest.raises(PermanentSendError) as failure:
        gateway(httpserver).send(sms())

    text = str(failure.value)
    assert text == (
        "SMS gateway answered 400: (code 21211) "
        "The 'To' number [number] is not a valid phone number."
    )
    assert PHONE.lstrip("+") not in text


@pytest.mark.parametrize(
    "echo",
    [
        PHONE,
        PHONE.lstrip("+"),
        "+44 7700 900123",
        "07700 900123",
        "(0)7700-900-123",
    ],
)
def test_it_strips_the_number_in_any_form_from_the_gateway_message(
    httpserver: HTTPServer, echo: str
):
    httpserver.expect_request("/sms").respond_with_json(
        {"error": {"message": f"Recipient {echo} has blocked this sender"}}, status=422
    )

    with pytest.raises(PermanentSendError) as failure:
        gateway(httpserver).send(sms())

    text = str(failure.value)
    assert text.startswith("SMS gateway answered 422: Recipient [number]")
    for digits in ("7700", "900123", "900-123"):
        assert digits not in text


def test_it_strips_the_body_and_keeps_the_quote_short(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_json(
        {"error": f"Body rejected:\n{BODY}\n" + "because it is far too long " * 20}, status=400
    )

    with pytest.raises(PermanentSendError) as failure:
        gateway(httpserver).send(sms())

    text = str(failure.value)
    quote = text.removeprefix("SMS gateway answered 400: ")
    assert quote.startswith("Body rejected: [message] because")
    assert len(quote) <= 200
    assert quote.endswith("…")
    assert "Room 3" not in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("status", "answer", "content_type"),
    [
        (401, "<html><body>Unauthorized</body></html>", "text/html"),
        (403, '{"detail": "forbidden"}', "application/json"),
        (404, "", "text/plain"),
        (400, '{"message": ""}', "application/json"),
    ],
)
def test_it_gives_up_on_other_client_errors_without_quoting_anything_else(
    httpserver: HTTPServer, status: int, answer: str, content_type: str
):
    httpserver.expect_request("/sms").respond_with_data(
        answer, status=status, content_type=content_type
    )

    with pytest.raises(PermanentSendError) as failure:
        gateway(httpserver).send(sms())

    assert str(failure.value) == f"SMS gateway answered {status}"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_it_gives_up_on_a_redirect_without_following_it(httpserver: HTTPServer, status: int):
    httpserver.expect_request("/sms").respond_with_data(
        "", status=status, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_json({"sid": "SM-wrong"})

    with pytest.raises(PermanentSendError) as failure:
        gateway(httpserver).send(sms())

    assert str(failure.value).startswith(f"SMS gateway answered {status}, a redirect")
    assert [request.path for request, _ in httpserver.log] == ["/sms"]


@pytest.mark.parametrize(
    ("to", "text"),
    [
        (None, "No phone number to send the SMS to"),
        ("", "No phone number to send the SMS to"),
        ("07700 900123", "Phone number not in international (E.164) form"),
        ("+44 7700 900123", "Phone number not in international (E.164) form"),
    ],
)
def test_it_refuses_a_message_without_an_international_number(
    httpserver: HTTPServer, to: str | None, text: str
):
    httpserver.expect_request("/sms").respond_with_json({"sid": "SM1"})

    with pytest.raises(PermanentSendError) as failure:
        gateway(httpserver).send(sms(to=to))

    assert str(failure.value) == text
    assert httpserver.log == []


# ------------------------------------------------------------------- configuration


def test_it_takes_every_setting_from_the_config(httpserver: HTTPServer):
    httpserver.expect_request("/gw/messages.json").respond_with_json({"sid": "SM9"})
    config = {
        "SMS_PROVIDER": "http",
        "SMS_GATEWAY_URL": httpserver.url_for("/gw/messages.json"),
        "SMS_GATEWAY_FORMAT": "form",
        "SMS_GATEWAY_USERNAME": "AC-account",
        "SMS_GATEWAY_PASSWORD": "token-pw",
        "SMS_GATEWAY_TOKEN": None,
        "SMS_GATEWAY_TIMEOUT": 2.5,
        "SMS_SENDER": "+15005550006",
    }

    provider = HttpSmsGateway.from_config(config)
    sent = provider.send(sms())

    assert provider.name == "http"
    assert provider.timeout == 2.5
    assert sent == Sent(provider_message_id="SM9")
    (request,) = sms_requests(httpserver, "/gw/messages.json")
    assert request.form.to_dict() == {"To": PHONE, "From": "+15005550006", "Body": BODY}
    assert request.authorization is not None
    assert (request.authorization.username, request.authorization.password) == (
        "AC-account",
        "token-pw",
    )


def test_it_takes_the_json_format_and_token_from_the_config(httpserver: HTTPServer):
    httpserver.expect_request("/sms").respond_with_json({"message_id": "m-1"})
    config = {
        "SMS_GATEWAY_URL": httpserver.url_for("/sms"),
        "SMS_GATEWAY_FORMAT": "json",
        "SMS_GATEWAY_USERNAME": None,
        "SMS_GATEWAY_PASSWORD": None,
        "SMS_GATEWAY_TOKEN": "tok-123",
        "SMS_GATEWAY_TIMEOUT": 0.3,
        "SMS_SENDER": None,
    }

    sent = HttpSmsGateway.from_config(config).send(sms())

    assert sent == Sent(provider_message_id="m-1")
    (request,) = sms_requests(httpserver)
    assert request.get_json() == {"to": PHONE, "body": BODY}
    assert request.headers["Authorization"] == "Bearer tok-123"


def test_it_times_out_as_the_config_says(httpserver: HTTPServer):
    config = {"SMS_GATEWAY_URL": httpserver.url_for("/sms"), "SMS_GATEWAY_TIMEOUT": 0.3}

    with silent_gateway(httpserver), pytest.raises(RetryableSendError) as failure:
        HttpSmsGateway.from_config(config).send(sms())

    assert str(failure.value) == "SMS gateway timed out after 0.3 s"


@pytest.mark.parametrize(
    "settings",
    [
        {"body_format": "xml"},
        {"username": "AC1", "password": "pw", "token": "tok"},
        {"password": "pw"},
        {"timeout": 0},
    ],
)
def test_it_refuses_contradictory_settings(settings: dict[str, Any]):
    with pytest.raises(ValueError):
        HttpSmsGateway("http://127.0.0.1/sms", **settings)


def test_it_needs_a_gateway_url():
    with pytest.raises(ValueError, match="SMS_GATEWAY_URL"):
        HttpSmsGateway.from_config({"SMS_PROVIDER": "http", "SMS_GATEWAY_URL": None})


def test_it_shows_no_credentials_in_its_repr():
    provider = HttpSmsGateway("http://127.0.0.1/sms?key=k3y", username="AC1", password="pw-x")

    assert "pw-x" not in repr(provider)
    assert "k3y" not in repr(provider)

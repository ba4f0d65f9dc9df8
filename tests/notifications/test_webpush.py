"""The Web Push provider against a fake push service: a real HTTP server on loopback that gets
the encrypted, VAPID-signed request a real push service would."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import time_machine
from pytest_httpserver import HTTPServer

from tests.hung_server import hung_server
from tests.notifications.gateway import unused_port
from tests.notifications.push_service import (
    PUSH_PATH,
    FakeBrowser,
    VapidPair,
    push_requests,
    vapid_claims,
    vapid_pair,
)
from webapp.notifications.providers.base import (
    OutgoingMessage,
    PermanentSendError,
    RetryableSendError,
    Sent,
    SubscriptionGone,
)
from webapp.notifications.providers.webpush import (
    DEFAULT_SUBJECT,
    WebPushProvider,
    default_subject,
    endpoint_problem,
    generate_vapid_keys,
    key_problems,
    load_vapid_key,
    vapid_key_problem,
)

BODY = "Ticket C-012: please go to Room 3 now."
URL = "/t/abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture(scope="module")
def keys() -> VapidPair:
    return vapid_pair()


@pytest.fixture
def browser(httpserver: HTTPServer) -> FakeBrowser:
    return FakeBrowser(endpoint=httpserver.url_for(PUSH_PATH))


def provider(keys: VapidPair, **overrides: Any) -> WebPushProvider:
    settings: dict[str, Any] = {
        "public_key": keys.public,
        "private_key": keys.private,
        "subject": "mailto:queue@hospital.example",
        "timeout": 5.0,
        "allow_loopback_http": True,
        **overrides,
    }
    return WebPushProvider(**settings)


def push(browser: FakeBrowser, **overrides: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "notification_id": 7,
        "channel": "push",
        "body": BODY,
        "title": "Ticket C-012",
        "url": URL,
        "subscription": browser.subscription(),
    }
    return OutgoingMessage(**{**fields, **overrides})


def answer(server: HTTPServer, status: int, headers: dict[str, str] | None = None) -> None:
    server.expect_request(PUSH_PATH, method="POST").respond_with_data(
        "", status=status, headers=headers or {}
    )


# ------------------------------------------------------------------- delivered


def test_it_posts_an_encrypted_vapid_signed_message(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    answer(httpserver, 201, {"Location": httpserver.url_for("/push/m/msg-42")})

    sent = provider(keys).send(push(browser))

    assert sent == Sent(provider_message_id="msg-42")
    (request,) = push_requests(httpserver)
    assert request.headers["Content-Encoding"] == "aes128gcm"
    assert request.headers["TTL"] == "3600"
    assert request.headers["Urgency"] == "high"
    body = request.get_data()
    assert BODY.encode() not in body and b"Room 3" not in body
    assert browser.decrypt(request) == {"title": "Ticket C-012", "body": BODY, "url": URL}
    claims = vapid_claims(request, keys.public)
    assert claims["sub"] == "mailto:queue@hospital.example"
    assert claims["aud"] == f"http://{httpserver.host}:{httpserver.port}"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600


def test_it_treats_any_2xx_as_sent(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    answer(httpserver, 202)

    assert provider(keys).send(push(browser)) == Sent(provider_message_id=None)


def test_it_titles_a_message_without_one_with_the_hospital_and_leaves_out_a_missing_url(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    answer(httpserver, 201)

    provider(keys, default_title="St Elsewhere").send(push(browser, title=None, url=None))

    (request,) = push_requests(httpserver)
    assert browser.decrypt(request) == {"title": "St Elsewhere", "body": BODY}


def test_it_follows_no_redirect(httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair):
    answer(httpserver, 307, {"Location": httpserver.url_for("/elsewhere")})

    with pytest.raises(PermanentSendError, match="redirect"):
        provider(keys).send(push(browser))

    assert [request.path for request, _ in httpserver.log] == [PUSH_PATH]


# ------------------------------------------------------------------- refused


@pytest.mark.parametrize("status", [404, 410])
def test_it_reports_a_subscription_the_push_service_no_longer_knows(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair, status: int
) -> None:
    answer(httpserver, status)

    with pytest.raises(SubscriptionGone, match=f"answered {status}") as raised:
        provider(keys).send(push(browser))

    assert isinstance(raised.value, PermanentSendError)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_retries_a_push_service_error(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair, status: int
) -> None:
    answer(httpserver, status)

    with pytest.raises(RetryableSendError, match=f"answered {status}") as raised:
        provider(keys).send(push(browser))

    assert raised.value.retry_after is None


def test_it_retries_a_429_after_the_seconds_asked(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    answer(httpserver, 429, {"Retry-After": "120"})

    with pytest.raises(RetryableSendError, match="asked to wait 120 s") as raised:
        provider(keys).send(push(browser))

    assert raised.value.retry_after == 120


@time_machine.travel(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), tick=False)
def test_it_retries_a_503_after_the_date_asked(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    later = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)
    answer(httpserver, 503, {"Retry-After": format_datetime(later, usegmt=True)})

    with pytest.raises(RetryableSendError) as raised:
        provider(keys).send(push(browser))

    assert raised.value.retry_after == timedelta(minutes=5).total_seconds()


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_it_gives_up_on_any_other_4xx(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair, status: int
) -> None:
    answer(httpserver, status)

    with pytest.raises(PermanentSendError, match=f"answered {status}") as raised:
        provider(keys).send(push(browser))

    assert not isinstance(raised.value, SubscriptionGone | RetryableSendError)


def test_it_retries_when_the_push_service_refuses_the_connection(keys: VapidPair) -> None:
    browser = FakeBrowser(endpoint=f"http://127.0.0.1:{unused_port()}{PUSH_PATH}")

    with pytest.raises(RetryableSendError, match="unreachable") as raised:
        provider(keys).send(push(browser))

    assert "127.0.0.1" not in str(raised.value)


def test_it_retries_when_the_push_service_does_not_answer_in_time(keys: VapidPair) -> None:
    with hung_server() as address:
        port = address.rsplit(":", 1)[1].split("/")[0]
        browser = FakeBrowser(endpoint=f"http://127.0.0.1:{port}{PUSH_PATH}")

        with pytest.raises(RetryableSendError, match=r"timed out after 0\.5 s"):
            provider(keys, timeout=0.5).send(push(browser))


# ------------------------------------------------------------------- never sent


@pytest.mark.parametrize(("public", "private"), [(None, None), ("", ""), (None, "x"), ("x", None)])
def test_it_refuses_to_send_without_vapid_keys(
    httpserver: HTTPServer, browser: FakeBrowser, public: str | None, private: str | None
) -> None:
    unconfigured = WebPushProvider(public_key=public, private_key=private)

    with pytest.raises(PermanentSendError, match=r"^Web Push is not configured \(VAPID keys\)$"):
        unconfigured.send(push(browser))

    assert httpserver.log == []


def test_it_refuses_keys_that_are_not_a_pair(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    other = vapid_pair()

    with pytest.raises(PermanentSendError, match="does not belong"):
        provider(keys, public_key=other.public).send(push(browser))
    with pytest.raises(PermanentSendError, match="not a valid key"):
        provider(keys, private_key="not-a-key").send(push(browser))

    assert httpserver.log == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.org/v1/abc",  # plain http off this machine
        "ftp://127.0.0.1/v1/abc",
        "/relative/v1/abc",
        "https://user:secret@push.example.org/v1/abc",
    ],
)
def test_it_refuses_an_endpoint_that_is_not_https(keys: VapidPair, endpoint: str) -> None:
    browser = FakeBrowser(endpoint=endpoint)

    with pytest.raises(PermanentSendError, match="unusable") as raised:
        provider(keys).send(push(browser))

    assert "example.org" not in str(raised.value)


def test_it_refuses_plain_http_to_this_machine_in_production(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    with pytest.raises(PermanentSendError, match="https"):
        provider(keys, allow_loopback_http=False).send(push(browser))

    assert httpserver.log == []


def test_it_refuses_a_message_without_a_subscription_or_with_broken_keys(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    broken = {**browser.subscription(), "keys": {"p256dh": "AAAA", "auth": browser.auth}}

    with pytest.raises(PermanentSendError, match="no push subscription"):
        provider(keys).send(push(browser, subscription=None))
    with pytest.raises(PermanentSendError, match="keys are invalid"):
        provider(keys).send(push(browser, subscription=broken))

    assert httpserver.log == []


# ------------------------------------------------------------------- configuration


def test_it_reads_its_settings_from_the_configuration(keys: VapidPair) -> None:
    config = {
        **keys.config(),
        "VAPID_SUBJECT": "https://hospital.example/contact",
        "WEBPUSH_TIMEOUT": 3.5,
        "HOSPITAL_NAME": "St Elsewhere",
        "APP_ENV": "production",
    }

    built = WebPushProvider.from_config(config)

    assert built.name == "webpush"
    assert (built.public_key, built.private_key) == (keys.public, keys.private)
    assert built.subject == "https://hospital.example/contact"
    assert built.timeout == 3.5
    assert built.default_title == "St Elsewhere"
    assert built.allow_loopback_http is False
    assert keys.private not in repr(built)


@pytest.mark.parametrize(
    ("public_base_url", "subject"),
    [
        ("https://queue.hospital.example", "mailto:admin@queue.hospital.example"),
        ("https://queue.hospital.example:8443/hq", "mailto:admin@queue.hospital.example"),
        ("http://10.1.2.3:8000", DEFAULT_SUBJECT),
        ("http://queue", DEFAULT_SUBJECT),
        (None, DEFAULT_SUBJECT),
    ],
)
def test_it_defaults_the_subject_to_an_address_at_the_public_host(
    public_base_url: str | None, subject: str
) -> None:
    assert default_subject(public_base_url) == subject
    config = {"PUBLIC_BASE_URL": public_base_url, "VAPID_SUBJECT": None}
    assert WebPushProvider.from_config(config).subject == subject


def test_its_generated_keys_are_a_p256_pair() -> None:
    public, private = generate_vapid_keys()

    assert vapid_key_problem(public, private) is None
    assert len(public) == 87 and "=" not in public  # 65 bytes: 0x04, x, y
    assert len(private) == 43 and "=" not in private  # 32 bytes
    assert load_vapid_key(private).private_key.curve.name == "secp256r1"
    assert generate_vapid_keys() != (public, private)


def test_it_accepts_the_private_key_as_pem(
    httpserver: HTTPServer, browser: FakeBrowser, keys: VapidPair
) -> None:
    pem = load_vapid_key(keys.private).private_pem().decode()
    answer(httpserver, 201)

    provider(keys, private_key=pem).send(push(browser))

    (request,) = push_requests(httpserver)
    vapid_claims(request, keys.public)


# ------------------------------------------------------------------- what a subscription is


@pytest.mark.parametrize(
    ("endpoint", "loopback_http", "usable"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", False, True),
        ("http://127.0.0.1:9000/push", True, True),
        ("http://localhost:9000/push", True, True),
        ("http://127.0.0.1:9000/push", False, False),
        ("http://push.example.org/abc", True, False),
        ("https://push.example.org/" + "a" * 1024, False, False),
        ("https://push.example.org/a b", False, False),
        ("https:///abc", False, False),
        ("https://push.example.org:99999/abc", False, False),
        ("javascript:alert(1)", True, False),
        ("", False, False),
        (None, False, False),
    ],
)
def test_it_tells_a_usable_endpoint(endpoint: Any, loopback_http: bool, usable: bool) -> None:
    problem = endpoint_problem(endpoint, allow_loopback_http=loopback_http)

    assert (problem is None) is usable, problem


def test_it_tells_real_subscription_keys_from_junk() -> None:
    browser = FakeBrowser(endpoint="https://push.example.org/abc")
    good = browser.subscription()["keys"]

    assert key_problems(good) == {}
    assert key_problems({"p256dh": good["p256dh"] + "=", "auth": good["auth"] + "=="}) == {}
    assert set(key_problems({"p256dh": "A" * 87, "auth": good["auth"]})) == {"keys.p256dh"}
    assert set(key_problems({"p256dh": good["p256dh"], "auth": "c2hvcnQ"})) == {"keys.auth"}
    assert set(key_problems({"p256dh": good["p256dh"], "auth": "not base64!"})) == {"keys.auth"}
    assert set(key_problems({})) == {"keys.p256dh", "keys.auth"}
    assert set(key_problems("keys")) == {"keys"}

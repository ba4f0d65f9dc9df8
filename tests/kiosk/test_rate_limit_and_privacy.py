"""Attempts are limited per kiosk (KIOSK_RATE_LIMIT, here 3 per minute), and no answer of a
whole journey, the refusal included, holds a patient's name, date of birth, phone or MRN."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kiosk.conftest import BORN, FIRST, LAST, MRN, PHONE, attempt
from webapp.appointments.models import Appointment
from webapp.extensions import db


def body_of(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"KIOSK_RATE_LIMIT": "3 per minute"}


def test_attempts_are_limited_per_kiosk_and_two_kiosks_do_not_share(
    client, kiosk, other_kiosk, booking
):
    for _ in range(3):
        assert attempt(client, kiosk, "ZZZ222", "1961").status_code == 200

    refused = attempt(client, kiosk, booking.reference, str(BORN.year))

    assert refused.status_code == 429
    assert "Too many tries — please ask at the desk" in body_of(refused)
    assert db.session.get(Appointment, booking.id).status == "booked"
    # The other kiosk has its own allowance.
    assert attempt(client, other_kiosk, booking.reference, str(BORN.year)).status_code == 303


def test_the_limit_lifts_after_a_minute(client, kiosk, booking, frozen_clock):
    for _ in range(3):
        attempt(client, kiosk, "ZZZ222", "1961")
    assert attempt(client, kiosk, "ZZZ222", "1961").status_code == 429

    frozen_clock.shift(61)

    assert attempt(client, kiosk, booking.reference, str(BORN.year)).status_code == 303


# ------------------------------------------------------------------ privacy


def phi_in(html: str) -> list[str]:
    born = BORN
    needles = [
        FIRST,
        LAST,
        MRN,
        PHONE,
        PHONE[2:],  # 2015550187
        "555-0187",
        "5550187",
        born.isoformat(),
        born.strftime("%d/%m/%Y"),
        born.strftime("%m/%d/%Y"),
        born.strftime("%d.%m.%Y"),
        f"{born.day} {born:%b}",
        f"{born:%B} {born.day}",
    ]
    return [needle for needle in needles if needle.lower() in html.lower()]


def test_no_response_of_a_whole_journey_holds_patient_data(client, kiosk, other_kiosk, booking):
    year = str(BORN.year)
    responses = [
        client.get(kiosk.url),
        client.post(f"{kiosk.url}/year", data={"reference": "K7P"}),
        client.post(f"{kiosk.url}/year", data={"reference": booking.reference}),
        client.post(f"{kiosk.url}/check-in", data={"reference": booking.reference, "year": "61"}),
        client.post(f"{kiosk.url}/check-in", data={"reference": booking.reference, "year": "1962"}),
        client.post(f"{kiosk.url}/check-in", data={"reference": booking.reference, "year": year}),
        client.get(f"{kiosk.url}/done"),
        client.get(kiosk.url),
    ]
    # And the rate-limited answer.
    for _ in range(4):
        responses.append(attempt(client, other_kiosk, "ZZZ222", year))

    assert [response.status_code for response in responses[-4:]] == [200, 200, 200, 429]
    assert responses[6].status_code == 200 and "GM-001" in body_of(responses[6])
    for response in responses:
        html = body_of(response) + str(response.headers)
        assert phi_in(html) == [], (response.request.path, phi_in(html))
    assert year not in body_of(responses[6])  # the ticket shows no year of birth either


@pytest.mark.redis
class TestWithRedis:
    """The count lives in Redis (shared by every server process), one key per kiosk."""

    @pytest.fixture
    def app_config(self, redis_url: str) -> dict[str, Any]:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        return {"KIOSK_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": redis_url}

    def test_each_kiosk_has_its_own_count_in_redis(
        self, client, kiosk, other_kiosk, booking, redis_url
    ):
        import redis

        assert [attempt(client, kiosk, "ZZZ222", "1961").status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        assert attempt(client, other_kiosk, booking.reference, str(BORN.year)).status_code == 303
        keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
        assert any(f"kiosk:{kiosk.id}" in key for key in keys), keys
        assert any(f"kiosk:{other_kiosk.id}" in key for key in keys), keys

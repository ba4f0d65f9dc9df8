"""The admin dashboard's count of today's messages to patients, by status, linking to the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient

from tests.conftest import sign_in
from tests.factories import NotificationFactory, PatientFactory
from webapp.auth.models import User
from webapp.extensions import db
from webapp.main.services import admin_summary
from webapp.notifications.services import OutboxCounts

# 16:00 UTC is 11:00 in New York on 10 January; its day there began at 05:00 UTC.
NOW = datetime(2025, 1, 10, 16, 0, tzinfo=UTC)
DAY_START = datetime(2025, 1, 10, 5, 0, tzinfo=UTC)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"HOSPITAL_TIMEZONE": "America/New_York"}


@pytest.fixture
def todays_messages(app: Any) -> None:
    """Today (New York): 3 sent, 1 pending, 2 failed. Before today: 4 failed, 1 pending."""
    patient = PatientFactory()
    today = [("sent", 3), ("pending", 1), ("failed", 2)]
    for status, count in today:
        for n in range(count):
            NotificationFactory(
                patient=patient, status=status, created_at=DAY_START + timedelta(minutes=n)
            )
    yesterday = DAY_START - timedelta(seconds=1)  # 23:59:59 the day before, in New York
    for status, count in [("failed", 4), ("pending", 1)]:
        for _ in range(count):
            NotificationFactory(patient=patient, status=status, created_at=yesterday)
    db.session.commit()


def test_it_counts_todays_messages_by_status_in_hospital_time(todays_messages: None) -> None:
    with time_machine.travel(NOW, tick=False):
        summary = admin_summary()

    assert summary.messages_today.counts == OutboxCounts(pending=1, sent=3, failed=2)
    assert summary.messages_today.day.isoformat() == "2025-01-10"


def test_it_counts_nothing_on_a_quiet_day(app: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        summary = admin_summary()

    assert summary.messages_today.counts == OutboxCounts(pending=0, sent=0, failed=0)


def test_the_admin_dashboard_shows_the_counts_each_linking_to_the_log_filtered(
    client: FlaskClient, admin: User, todays_messages: None
) -> None:
    with time_machine.travel(NOW, tick=False):
        sign_in(client, admin)
        html = client.get("/").get_data(as_text=True)

    assert "Messages to patients today" in html
    assert 'href="/admin/notifications?status=sent&amp;date=2025-01-10">3 sent</a>' in html
    assert 'href="/admin/notifications?status=pending&amp;date=2025-01-10">1 pending</a>' in html
    assert (
        'href="/admin/notifications?status=failed&amp;date=2025-01-10" class="warning-text">'
        "2 failed</a>" in html
    )


def test_a_count_link_opens_the_matching_rows(
    client: FlaskClient, admin: User, todays_messages: None
) -> None:
    with time_machine.travel(NOW, tick=False):
        sign_in(client, admin)
        html = client.get("/admin/notifications?status=failed&date=2025-01-10").get_data(
            as_text=True
        )

    assert html.count("data-notification-id=") == 2


@pytest.mark.parametrize("persona", ["as_receptionist", "as_clinician"])
def test_other_dashboards_show_no_message_counts(
    request: pytest.FixtureRequest, persona: str, todays_messages: None
) -> None:
    client: FlaskClient = request.getfixturevalue(persona)

    html = client.get("/").get_data(as_text=True)

    assert "Messages to patients today" not in html
    assert "/admin/notifications" not in html

"""The outbox end to end on SQLite: which events write which messages, and when they are sent.

The test app runs Huey immediately and uses the console SMS provider, so a row
written by a request is sent when that request commits, and shows up on stdout.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from tests.factories import (
    DepartmentFactory,
    PatientFactory,
    ServicePointFactory,
    UserFactory,
    walk_in,
)
from webapp.appointments.services import (
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from webapp.database import utcnow
from webapp.extensions import db
from webapp.notifications import delivery
from webapp.notifications.models import Notification
from webapp.notifications.outbox import write_notification
from webapp.notifications.providers.base import (
    OutgoingMessage,
    PermanentSendError,
    RetryableSendError,
    Sent,
)
from webapp.notifications.services import resend_notifications
from webapp.notifications.tasks import requeue_stale_notifications
from webapp.queue import moves

PHONE = "+14155550123"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PUBLIC_BASE_URL": "https://queue.example.org", "NEAR_TURN_AHEAD": 3}


@pytest.fixture
def department(app: Any) -> Any:
    department = DepartmentFactory(name="General Medicine", code="GM")
    db.session.commit()
    return department


@pytest.fixture
def room(department: Any) -> Any:
    point = ServicePointFactory(department=department, name="Room 3")
    db.session.commit()
    return point


@pytest.fixture
def doctor(app: Any) -> Any:
    user = UserFactory(role="clinician", username="dr-who")
    db.session.commit()
    return user


def consenting(**fields: Any) -> Any:
    patient = PatientFactory(sms_opt_in=True, phone=PHONE, **fields)
    db.session.commit()
    return patient


def deliver(notification_id: int) -> str:
    """Send as a worker does: outside the test's transaction (SQLite allows one writer)."""
    db.session.commit()
    return delivery.deliver(notification_id)


def rows(**where: Any) -> list[Notification]:
    db.session.expire_all()
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.session.scalars(query))


def kinds(patient: Any) -> list[str]:
    return [row.template_key for row in rows(patient_id=patient.id)]


def call_next(point: Any, actor: Any) -> Any:
    ticket = moves.call_next(service_point_id=point.id, actor=actor)
    db.session.commit()
    return ticket


def complete(ticket: Any, actor: Any) -> None:
    for status in ("in_service", "completed"):
        moves.transition_ticket(ticket.id, status=status, actor=actor)
    db.session.commit()


# ------------------------------------------------------------------ writing


def test_it_confirms_a_check_in_by_sms_once_the_check_in_commits(department, capsys):
    patient = consenting(first_name="Ottoline")

    ticket = walk_in(department, patient)

    [confirmation, near] = rows(patient_id=patient.id)
    assert confirmation.template_key == "check_in"
    assert confirmation.channel == "sms" and confirmation.status == "sent"
    assert confirmation.ticket_id == ticket.id
    assert ticket.number in confirmation.body and "General Medicine" in confirmation.body
    assert f"https://queue.example.org/t/{ticket.status_token}" in confirmation.body
    assert "You are next" in confirmation.body
    assert "Reply STOP to opt out." in confirmation.body
    assert "Ottoline" not in confirmation.body
    assert near.template_key == "turn_near"  # nobody ahead: within reach at once
    printed = capsys.readouterr().out
    assert confirmation.body in printed
    assert PHONE not in printed and "+1…0123" in printed


def test_it_writes_and_sends_nothing_when_the_check_in_rolls_back(department, capsys):
    patient = consenting()

    moves.check_in(actor=None, patient_id=patient.id, department_id=department.id)
    db.session.flush()
    assert rows(patient_id=patient.id) == []  # only written just before the commit
    db.session.rollback()
    db.session.commit()

    assert rows() == []
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "fields", [{"sms_opt_in": False, "phone": PHONE}, {"sms_opt_in": True, "phone": None}]
)
def test_it_sends_no_sms_without_consent_or_without_a_phone(department, fields, capsys):
    patient = PatientFactory(**fields)
    db.session.commit()

    walk_in(department, patient)

    assert rows() == []
    assert capsys.readouterr().out == ""


def test_it_sends_a_visit_s_messages_in_order(department, room, doctor, capsys):
    others = [walk_in(department) for _ in range(4)]
    patient = consenting()
    ticket = walk_in(department, patient)  # 4 ahead: not near yet
    assert kinds(patient) == ["check_in"]
    assert "About" in rows(patient_id=patient.id)[0].body and "4 people ahead" in (
        rows(patient_id=patient.id)[0].body
    )

    first = call_next(room, doctor)
    assert first.id == others[0].id
    assert kinds(patient) == ["check_in", "turn_near"]  # now 3 ahead

    serving = first
    for _ in others[1:]:
        complete(serving, doctor)
        serving = call_next(room, doctor)
    complete(serving, doctor)
    called = call_next(room, doctor)
    assert called.id == ticket.id
    moves.override_ticket(ticket.id, action="recall", actor=doctor)
    db.session.commit()

    messages = rows(patient_id=patient.id)
    assert [row.template_key for row in messages] == ["check_in", "turn_near", "called", "recalled"]
    assert all(row.status == "sent" for row in messages)
    assert messages[2].body.startswith(f"Ticket {ticket.number}: please go to Room 3 now.")
    assert "calling you again" in messages[3].body and "Room 3" in messages[3].body
    printed = capsys.readouterr().out
    positions = [printed.index(row.body) for row in messages]
    assert positions == sorted(positions)


def test_it_says_your_turn_is_near_at_most_once_per_ticket(department, room, doctor):
    for _ in range(3):
        walk_in(department)
    patient = consenting()
    ticket = walk_in(department, patient)  # 3 ahead: near at once
    assert kinds(patient) == ["check_in", "turn_near"]

    # An emergency pushes the patient back to 4 ahead, a call brings them to 3 again.
    walk_in(department, priority="emergency")
    call_next(room, doctor)
    for priority in ("urgent", "routine"):
        moves.override_ticket(
            ticket.id, action="set_priority", actor=None, priority=priority, reason="triage"
        )
    db.session.commit()

    assert kinds(patient) == ["check_in", "turn_near"]


def test_it_tells_a_transferred_patient_their_new_ticket(department, doctor):
    lab = DepartmentFactory(name="Laboratory", code="LB")
    patient = consenting()
    ticket = walk_in(department, patient)

    new = moves.override_ticket(ticket.id, action="transfer", actor=doctor, department_id=lab.id)
    db.session.commit()

    transferred = rows(ticket_id=new.id, template_key="transferred")
    assert len(transferred) == 1
    assert ticket.number in transferred[0].body and new.number in transferred[0].body
    assert "Laboratory" in transferred[0].body


def test_it_writes_appointment_messages_for_booking_moving_and_cancelling(department):
    patient = consenting()
    starts = utcnow().replace(microsecond=0) + timedelta(days=3)
    department.opens_at = None
    db.session.commit()

    appointment = book_appointment(
        patient_id=patient.id,
        department_id=department.id,
        starts_at=starts,
        duration_minutes=20,
        actor=None,
    )
    db.session.commit()
    reschedule_appointment(appointment, actor=None, duration_minutes=30)  # same time: no news
    db.session.commit()
    reschedule_appointment(appointment, actor=None, starts_at=starts + timedelta(hours=1))
    db.session.commit()
    cancel_appointment(appointment, actor=None, reason="Clinic closed")
    db.session.commit()

    messages = rows(appointment_id=appointment.id)
    assert [row.template_key for row in messages] == [
        "appointment_booked",
        "appointment_rescheduled",
        "appointment_cancelled",
    ]
    assert all("General Medicine" in row.body for row in messages)
    assert "Clinic closed" not in messages[2].body  # the reason is staff's business


# ------------------------------------------------------------------ sending


class ScriptedProvider:
    """A provider that fails or succeeds as told, one outcome per send."""

    name = "scripted"

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> Sent:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(message)
        return Sent(provider_message_id=f"msg-{len(self.sent)}")


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        yield traveller


def use(monkeypatch: pytest.MonkeyPatch, provider: ScriptedProvider) -> ScriptedProvider:
    monkeypatch.setattr(delivery, "provider_for", lambda channel, config: provider)
    return provider


def pending_row(patient: Any) -> int:
    notification_id = write_notification(
        patient_id=patient.id, channel="sms", kind="called", body="Ticket GM-001: go to Room 3."
    )
    assert notification_id is not None
    db.session.flush()
    return notification_id


def test_it_retries_with_back_off_then_sends(app, monkeypatch, clock):
    provider = use(monkeypatch, ScriptedProvider(RetryableSendError("gateway answered 503")))
    patient = consenting()
    notification_id = pending_row(patient)
    db.session.commit()  # first attempt (immediate mode): fails, retry scheduled

    [row] = rows(id=notification_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "gateway answered 503")
    assert row.next_attempt_at is not None
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 25 <= wait <= 30  # NOTIFICATION_RETRY_SECONDS for the first retry
    assert deliver(notification_id) == "skipped"  # not due yet

    clock.shift(timedelta(seconds=31))
    assert deliver(notification_id) == "sent"

    [row] = rows(id=notification_id)
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 2, "msg-1")
    assert row.last_error is None and row.sent_at is not None
    assert deliver(notification_id) == "skipped"  # never twice
    assert len(provider.sent) == 1


def test_it_doubles_the_wait_after_each_failure_up_to_the_maximum(app):
    config = {"NOTIFICATION_RETRY_SECONDS": 30, "NOTIFICATION_RETRY_MAX_SECONDS": 200}

    assert [delivery.retry_delay(n, config) for n in (1, 2, 3, 4)] == [30, 60, 120, 200]
    assert delivery.retry_delay(1, config, retry_after=90) == 90


def test_it_fails_after_the_last_attempt_with_the_error_kept(app, monkeypatch, clock):
    app.config["NOTIFICATION_MAX_ATTEMPTS"] = 2
    use(monkeypatch, ScriptedProvider(RetryableSendError("timed out"), RetryableSendError("503")))
    notification_id = pending_row(consenting())
    db.session.commit()
    clock.shift(timedelta(minutes=5))

    assert deliver(notification_id) == "failed"

    [row] = rows(id=notification_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 2, "503")


def test_it_fails_a_permanent_error_at_once_and_an_admin_resend_sends_it(app, monkeypatch, admin):
    provider = use(monkeypatch, ScriptedProvider(PermanentSendError("number refused (400)")))
    notification_id = pending_row(consenting())
    db.session.commit()
    [row] = rows(id=notification_id)
    assert (row.status, row.last_error, row.attempts) == ("failed", "number refused (400)", 1)

    assert resend_notifications(actor=admin, ids=[notification_id]) == 1
    db.session.commit()

    [row] = rows(id=notification_id)
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(provider.sent) == 1


def test_it_resends_only_failed_rows(app, monkeypatch, admin):
    use(monkeypatch, ScriptedProvider(PermanentSendError("refused")))
    patient = consenting()
    failed = pending_row(patient)
    db.session.commit()
    sent = pending_row(patient)
    db.session.commit()

    assert resend_notifications(actor=admin, ids=[failed, sent]) == 1
    assert resend_notifications(actor=admin, status="failed") == 0  # already queued again


def test_it_checks_consent_again_when_sending(app, monkeypatch):
    provider = use(monkeypatch, ScriptedProvider())
    patient = consenting()
    app.config["HUEY_IMMEDIATE"] = True
    notification_id = pending_row(patient)
    patient.sms_opt_in = False
    db.session.commit()

    [row] = rows(id=notification_id)
    assert row.status == "failed"
    assert "no longer has SMS consent" in (row.last_error or "")
    assert provider.sent == []


def test_it_requeues_rows_left_pending_and_leaves_fresh_or_claimed_ones(app, monkeypatch, clock):
    provider = use(monkeypatch, ScriptedProvider())
    monkeypatch.setattr("webapp.notifications.outbox.enqueue", lambda *args, **kwargs: False)
    patient = consenting()
    old, claimed = pending_row(patient), pending_row(patient)
    db.session.commit()  # the broker "was down": both stay pending
    db.session.get(Notification, claimed).claimed_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    monkeypatch.undo()
    use(monkeypatch, provider)

    assert requeue_stale_notifications.call_local() == 0  # written under a minute ago

    clock.shift(timedelta(seconds=90))
    fresh = pending_row(patient)
    monkeypatch.setattr("webapp.notifications.outbox.enqueue", lambda *args, **kwargs: False)
    db.session.commit()
    monkeypatch.undo()
    use(monkeypatch, provider)
    assert requeue_stale_notifications.call_local() == 1

    assert {row.id: row.status for row in rows()} == {
        old: "sent",
        claimed: "pending",
        fresh: "pending",
    }


def test_it_sends_one_patient_s_messages_in_the_order_they_were_written(app, monkeypatch, clock):
    # Two workers may pick up a patient's check-in confirmation and the call written a moment
    # later at the same time: the newer one waits while the older is on its way.
    provider = use(monkeypatch, ScriptedProvider())
    monkeypatch.setattr("webapp.notifications.outbox.enqueue", lambda *args, **kwargs: True)
    patient, other = consenting(), consenting()
    first, second, elsewhere = pending_row(patient), pending_row(patient), pending_row(other)
    db.session.commit()

    assert deliver(second) == "waiting"
    assert deliver(elsewhere) == "sent"  # another patient's message does not wait
    assert deliver(first) == "sent"
    assert deliver(second) == "sent"
    assert [message.notification_id for message in provider.sent] == [elsewhere, first, second]


def test_it_does_not_hold_a_message_behind_one_in_back_off_or_long_stuck(app, monkeypatch, clock):
    use(monkeypatch, ScriptedProvider(RetryableSendError("503")))
    monkeypatch.setattr("webapp.notifications.outbox.enqueue", lambda *args, **kwargs: True)
    patient = consenting()
    retrying, stuck = pending_row(patient), pending_row(patient)
    db.session.commit()
    assert deliver(retrying) == "retry"  # in back-off now
    later = pending_row(patient)
    db.session.commit()

    assert deliver(later) == "waiting"  # `stuck` is older and still on its way …
    clock.shift(timedelta(minutes=3))
    assert deliver(later) == "sent"  # … but not for ever
    assert {row.id: row.status for row in rows()}[stuck] == "pending"


def test_it_drops_the_queueing_of_a_row_whose_savepoint_rolled_back(app, monkeypatch):
    handed: list[int] = []
    monkeypatch.setattr(
        "webapp.notifications.outbox.enqueue",
        lambda notification_id, channel, delay=0: handed.append(notification_id),
    )
    patient = consenting()
    kept = pending_row(patient)
    savepoint = db.session.begin_nested()
    pending_row(patient)
    savepoint.rollback()
    db.session.commit()

    assert handed == [kept]
    assert [row.id for row in rows()] == [kept]


def test_it_writes_a_once_only_row_once(app, monkeypatch):
    monkeypatch.setattr("webapp.notifications.outbox.enqueue", lambda *args, **kwargs: True)
    patient = consenting()
    values = {"patient_id": patient.id, "channel": "sms", "kind": "turn_near", "body": "near"}

    first = write_notification(**values, dedupe_key="turn_near:ticket:1:sms")
    second = write_notification(**values, dedupe_key="turn_near:ticket:1:sms")
    db.session.commit()

    assert first is not None and second is None
    assert len(rows()) == 1


def test_it_logs_no_message_text_or_phone_at_info(department, room, doctor, caplog):
    caplog.set_level("DEBUG")
    patient = consenting()
    ticket = walk_in(department, patient)
    call_next(room, doctor)

    bodies = [row.body for row in rows(patient_id=patient.id)]
    assert len(bodies) == 3
    logged = [record.getMessage() for record in caplog.records if record.levelno >= 20]
    assert any("Sent notification" in line for line in logged)
    for line in logged:
        assert PHONE not in line and ticket.status_token not in line
        assert not any(body in line for body in bodies)

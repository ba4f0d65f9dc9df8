"""What happened in the domain, told to whoever listens, inside the same transaction.

The queue and the appointment services publish an event for each change they
make; other domains (notifications; later webhooks) subscribe and write their
own rows in the same transaction, so a rolled-back change leaves nothing behind.
Publishers never import their listeners: the queue knows nothing of SMS.

Subscribers run synchronously, in the publisher's transaction, in the order
they subscribed. They should only record work (rows, before-commit callbacks),
not talk to the outside world: that happens after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

Event = TypeVar("Event")


@dataclass(frozen=True)
class TicketEventHappened:
    """A QueueEvent was recorded: ``action`` (check_in, call, recall, …) on ``ticket_id``."""

    ticket_id: int
    department_id: int
    action: str
    from_status: str | None
    to_status: str


@dataclass(frozen=True)
class PatientChanged:
    """A patient's record changed (``fields``: the names of the fields, never their values)."""

    patient_id: int
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AppointmentChanged:
    """An appointment was ``booked``, ``rescheduled`` or ``cancelled``."""

    appointment_id: int
    change: str


_subscribers: dict[type, list[Callable[[object], None]]] = {}
_muted: ContextVar[bool] = ContextVar("domain_events_muted", default=False)


def subscribe(event_type: type[Event], handler: Callable[[Event], None]) -> None:
    """Call ``handler`` with every published event of ``event_type`` (once, however often asked)."""
    handlers = _subscribers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)  # type: ignore[arg-type]


def publish(event: object) -> None:
    """Tell every subscriber of the event's type, in subscription order."""
    if _muted.get():
        return
    for handler in _subscribers.get(type(event), []):
        handler(event)


@contextmanager
def muted() -> Iterator[None]:
    """Publish nothing inside the block (this thread or task only).

    For writing data that is not news to anyone: the demo data ``seed-demo``
    loads must not text its fictional patients about bookings nobody made.
    """
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)
